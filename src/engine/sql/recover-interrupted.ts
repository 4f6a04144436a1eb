/**
 * Crash recovery: attempts left `running` by a process that is gone are failed (`crashed`), and their
 * task instances go to `up_for_retry` or `failed` by the usual retry rule. Runs in one transaction.
 * @module
 */
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
