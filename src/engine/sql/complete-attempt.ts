/** Ends an attempt and its task instance: running → success | failed | up_for_retry | cancelled. @module */

import { sql } from 'kysely';
import type { TaskState } from '../states.ts';
import { isPostgres, type Queryable } from './executor-db.ts';

export interface AttemptCompletion {
  readonly attemptId: number;
  readonly runId: string;
  readonly taskId: string;
  readonly attemptState: 'success' | 'failed';
  readonly taskState: TaskState;
  readonly error: string | null;
  readonly exitCode: number | null;
  readonly outputJson: string | null;
  readonly nextTryAt: number | null;
}

/**
 * Returns false when the attempt had already ended (another process recovered it, or it was
 * completed before): an attempt never completes twice, and then the task instance is left alone.
 */
export async function completeAttempt(q: Queryable, c: AttemptCompletion, now: number): Promise<boolean> {
  if (isPostgres(q)) {
    // One round trip: the task instance moves only if the attempt did.
    const { rows } = await sql<{ ended: string }>`
      with a as (
        update attempts set state = ${c.attemptState}, ended_at = ${now}, error = ${c.error}, exit_code = ${c.exitCode}
        where id = ${c.attemptId} and state = 'running' returning id
      ), t as (
        update task_instances set state = ${c.taskState}, output = ${c.outputJson}, error = ${c.error},
          next_try_at = ${c.nextTryAt}, updated_at = ${now}
        where run_id = ${c.runId} and task_id = ${c.taskId} and state = 'running' and exists (select 1 from a)
      )
      select count(*) as ended from a`.execute(q);
    return Number(rows[0]?.ended) === 1;
  }
  const res = await q
    .updateTable('attempts')
    .set({ state: c.attemptState, ended_at: now, error: c.error, exit_code: c.exitCode })
    .where('id', '=', c.attemptId)
    .where('state', '=', 'running')
    .executeTakeFirst();
  if (Number(res.numUpdatedRows) !== 1) return false;
  await q
    .updateTable('task_instances')
    .set({
      state: c.taskState,
      output: c.outputJson,
      error: c.error,
      next_try_at: c.nextTryAt,
      updated_at: now,
    })
    .where('run_id', '=', c.runId)
    .where('task_id', '=', c.taskId)
    .where('state', '=', 'running')
    .execute();
  return true;
}
