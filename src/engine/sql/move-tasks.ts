/** Moves task instances of one run from one state to another, only where they still are in `from`. @module */
import { getOrCreate } from '../../lib/get-or-create.ts';
import type { EngineTransition } from '../engine-types.ts';
import type { TaskState } from '../states.ts';
import { chunks, type Queryable, rawUpdate, tuples } from './executor-db.ts';

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
    moved += await rawUpdate(
      q,
      `update task_instances set state = ?, updated_at = ?
       where run_id = ? and task_id in (${tuples(part.length, '?')}) and state in (${tuples(fromList.length, '?')})`,
      [to, now, runId, ...part, ...fromList],
    );
  }
  return moved;
}

/** Writes task transitions, one update per (run, from, to) group; run transitions are ignored. */
export async function moveTaskTransitions(
  q: Queryable,
  transitions: readonly EngineTransition[],
  now: number,
): Promise<void> {
  const groups = new Map<string, { runId: string; from: TaskState; to: TaskState; ids: string[] }>();
  for (const t of transitions) {
    if (t.kind !== 'task') continue;
    const key = `${t.runId}\u0000${t.from}\u0000${t.to}`;
    getOrCreate(groups, key, () => ({
      runId: t.runId,
      from: t.from,
      to: t.to,
      ids: [] as string[],
    })).ids.push(t.taskId);
  }
  for (const g of groups.values()) await moveTasks(q, g.runId, g.ids, g.from, g.to, now);
}
