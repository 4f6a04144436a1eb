/** Cancels the task instances of a run that have not started or are waiting to retry. @module */
import type { TaskState } from '../states.ts';
import type { Queryable } from './executor-db.ts';

/** The states a task leaves for `cancelled` when its run ends without it. */
const UNSTARTED: readonly TaskState[] = ['pending', 'queued', 'up_for_retry'];

/**
 * Moves every unstarted task instance of the run to `cancelled` (one conditional update per state, so
 * each moved task is known with the state it left). Running ones are left to the attempt's end.
 */
export async function cancelTasks(
  q: Queryable,
  runId: string,
  now: number,
): Promise<Array<{ taskId: string; from: TaskState }>> {
  const out: Array<{ taskId: string; from: TaskState }> = [];
  for (const from of UNSTARTED) {
    const moved = await q
      .updateTable('task_instances')
      .set({ state: 'cancelled', updated_at: now })
      .where('run_id', '=', runId)
      .where('state', '=', from)
      .returning('task_id')
      .execute();
    for (const m of moved) out.push({ taskId: m.task_id, from });
  }
  return out.sort((a, b) => a.taskId.localeCompare(b.taskId));
}
