/**
 * Crash recovery: attempts left `running` by a process that is gone are failed, and their task
 * instances go to `up_for_retry` or `failed` by the usual retry rule. Only attempts known to be
 * orphaned are touched: those of the engine whose lease this one took over (`crashed`), and those
 * whose attempt lease expired (`lease_expired`); never one a live process still renews. Runs in one
 * transaction, with the records of those task transitions (through the engine's hooks).
 * @module
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../store/database.ts';
import { afterFailure } from '../after-failure.ts';
import type { DagSource, EngineHooks, EngineTransition } from '../engine-types.ts';
import { completeAttempt } from './complete-attempt.ts';
import type { Queryable } from './executor-db.ts';

export interface InterruptedAttempt {
  readonly attemptId: number;
  readonly runId: string;
  readonly taskId: string;
  readonly tryNumber: number;
  readonly maxTries: number;
  /** Its holder was the engine whose lease was taken over (it is gone), not merely expired. */
  readonly holderGone: boolean;
}

/** The attempts still marked running, not this worker's, whose holder is gone or whose lease expired. */
export async function findInterrupted(
  q: Queryable,
  workerId: string,
  now: number,
  previousHolder: string | null = null,
): Promise<InterruptedAttempt[]> {
  const rows = await q
    .selectFrom('attempts as a')
    .innerJoin('task_instances as t', (j) =>
      j.onRef('t.run_id', '=', 'a.run_id').onRef('t.task_id', '=', 'a.task_id'),
    )
    .select(['a.id', 'a.run_id', 'a.task_id', 'a.try_number', 't.max_tries', 'a.worker_id'])
    .where('a.state', '=', 'running')
    .where('a.worker_id', '!=', workerId)
    .where((eb) =>
      eb.or([
        eb('a.lease_expires_at', 'is', null),
        eb('a.lease_expires_at', '<', now),
        ...(previousHolder ? [eb('a.worker_id', '=', previousHolder)] : []),
      ]),
    )
    // A running try of an Airflow task (its log copied as it grows) runs in Airflow, not here.
    .where('a.worker_id', 'not like', 'airflow:%')
    .execute();
  return rows.map((r) => ({
    attemptId: Number(r.id),
    runId: r.run_id,
    taskId: r.task_id,
    tryNumber: r.try_number,
    maxTries: r.max_tries,
    holderGone: r.worker_id === previousHolder,
  }));
}

/** Fails every attempt this worker does not own that is still marked running; its task retries by the usual rule. */
export async function failInterruptedAttempts(
  db: Kysely<Database>,
  dags: DagSource,
  workerId: string,
  now: number,
  hooks: EngineHooks = {},
  previousHolder: string | null = null,
): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const interrupted = await findInterrupted(trx, workerId, now, previousHolder);
    const transitions: EngineTransition[] = [];
    for (const a of interrupted) {
      const run = await trx
        .selectFrom('runs')
        .select(['env', 'dag_id'])
        .where('id', '=', a.runId)
        .executeTakeFirst();
      const task = run ? dags.find(run.env, run.dag_id)?.dag.tasks.get(a.taskId) : undefined;
      const next = afterFailure(
        task,
        a.tryNumber,
        a.maxTries,
        a.holderGone ? 'crashed' : 'lease_expired',
        now,
      );
      const error = a.holderGone
        ? 'crashed: the process running this attempt stopped before it finished'
        : `lease_expired: the process running this attempt stopped renewing its lease`;
      const completed = await completeAttempt(
        trx,
        {
          attemptId: a.attemptId,
          runId: a.runId,
          taskId: a.taskId,
          attemptState: 'failed',
          taskState: next.state,
          error,
          exitCode: null,
          outputJson: null,
          nextTryAt: next.retryAt,
        },
        now,
      );
      if (completed && run) {
        transitions.push({
          kind: 'task',
          runId: a.runId,
          env: run.env,
          dagId: run.dag_id,
          taskId: a.taskId,
          from: 'running',
          to: next.state,
          tryNumber: a.tryNumber,
          error,
        });
      }
    }
    if (transitions.length) await hooks.onTransitions?.(trx, transitions, { last: true });
    return interrupted.length;
  });
}
