/** Moves task instances of one run from one state to another, only where they still are in `from`. @module */
import type { TaskState } from '../states.ts';
import { chunks, type Queryable } from './executor-db.ts';

export async function moveTasks(
  q: Queryable,
  runId: string,
  taskIds: readonly string[],
  from: TaskState | readonly TaskState[],
  to: TaskState,
  now: number,
): Promise<number> {
  let moved = 0;
  const fromList = typeof from === 'string' ? [from] : from;
  for (const part of chunks(taskIds, 500)) {
    const res = await q
      .updateTable('task_instances')
      .set({ state: to, updated_at: now })
      .where('run_id', '=', runId)
      .where('task_id', 'in', part)
      .where('state', 'in', fromList)
      .executeTakeFirst();
    moved += Number(res.numUpdatedRows);
  }
  return moved;
}
