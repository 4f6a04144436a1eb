/** Every task upstream of one task, directly or through others, in one walk of the DAG. @module */
import type { TaskDefinition } from './types.ts';

/**
 * The ids of `taskId`'s ancestors. `include` leaves out tasks (and what is upstream only through
 * them), e.g. those not part of a run. One visit per ancestor: a chain of n tasks costs O(n).
 */
export function ancestorsOf(
  tasks: ReadonlyMap<string, Pick<TaskDefinition, 'after'>>,
  taskId: string,
  include: (id: string) => boolean = () => true,
): Set<string> {
  const seen = new Set<string>();
  const stack = [...(tasks.get(taskId)?.after ?? [])];
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id) || !include(id)) continue;
    seen.add(id);
    for (const up of tasks.get(id)?.after ?? []) if (!seen.has(up)) stack.push(up);
  }
  return seen;
}
