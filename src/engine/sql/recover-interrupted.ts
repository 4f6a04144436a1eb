/**
 * Crash recovery: attempts left `running` by a process that is gone are failed (`crashed`), and their
 * task instances go to `up_for_retry` or `failed` by the usual retry rule. Runs in one transaction,
 * with the records of those task transitions (through the engine's hooks).
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
}

/** The attempts still marked running that this worker does not own. */
export async function findInterrupted(q: Queryable, workerId: string): Promise<InterruptedAttempt[]> {
  const rows = await q
    .selectFrom('attempts as a')
    .innerJoin('task_instances as t', (j) =>
      j.onRef('t.run_id', '=', 'a.run_id').onRef('t.task_id', '=', 'a.task_id'),
    )
    .select(['a.id', 'a.run_id', 'a.task_id', 'a.try_number', 't.max_tries'])
    .where('a.state', '=', 'running')
    .where('a.worker_id', '!=', workerId)
    // A running try of an Airflow task (its log copied as it grows) runs in Airflow, not here.
    .where('a.worker_id', 'not like', 'airflow:%')
    .execute();
  return rows.map((r) => ({
    attemptId: Number(r.id),
    runId: r.run_id,
    taskId: r.task_id,
    tryNumber: r.try_number,
    maxTries: r.max_tries,
  }));
}

/** Fails every attempt this worker does not own that is still marked running; its task retries by the usual rule. */
export async function failInterruptedAttempts(
  db: Kysely<Database>,
  dags: DagSource,
  workerId: string,
  now: number,
  hooks: EngineHooks = {},
): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const interrupted = await findInterrupted(trx, workerId);
    const transitions: EngineTransition[] = [];
    for (const a of interrupted) {
      const run = await trx
        .selectFrom('runs')
        .select(['env', 'dag_id'])
        .where('id', '=', a.runId)
        .executeTakeFirst();
      const task = run ? dags.find(run.env, run.dag_id)?.dag.tasks.get(a.taskId) : undefined;
      const next = afterFailure(task, a.tryNumber, a.maxTries, 'crashed', now);
      const error = 'crashed: the process running this attempt stopped before it finished';
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
    if (transitions.length) await hooks.onTransitions?.(trx, transitions);
    return interrupted.length;
  });
}
