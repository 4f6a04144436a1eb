/**
 * Crash recovery: attempts left `running` by a process that is gone are failed (`crashed`), and their
 * task instances go to `up_for_retry` or `failed` by the usual retry rule. Runs in one transaction.
 * @module
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../store/database.ts';
import { afterFailure } from '../after-failure.ts';
import type { DagSource } from '../engine-types.ts';
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
): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const interrupted = await findInterrupted(trx, workerId);
    for (const a of interrupted) {
      const run = await trx
        .selectFrom('runs')
        .select(['env', 'dag_id'])
        .where('id', '=', a.runId)
        .executeTakeFirst();
      const task = run ? dags.find(run.env, run.dag_id)?.dag.tasks.get(a.taskId) : undefined;
      const next = afterFailure(task, a.tryNumber, a.maxTries, 'crashed', now);
      await completeAttempt(
        trx,
        {
          attemptId: a.attemptId,
          runId: a.runId,
          taskId: a.taskId,
          attemptState: 'failed',
          taskState: next.state,
          error: 'crashed: the process running this attempt stopped before it finished',
          exitCode: null,
          outputJson: null,
          nextTryAt: next.retryAt,
        },
        now,
      );
    }
    return interrupted.length;
  });
}
