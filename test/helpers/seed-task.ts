/** A task instance of run `r1` seeded straight into the store, with its running attempt when it is running. @module */
import type { TaskState } from '../../src/engine/states.ts';
import type { TestDb } from './test-db.ts';

/** Returns the attempt's id, or null when the task is not running. */
export async function seedTask(
  store: TestDb,
  taskId: string,
  options: { state?: TaskState; tryNumber?: number; maxTries?: number } = {},
): Promise<number | null> {
  const { state = 'running', tryNumber = 1, maxTries = 3 } = options;
  await store.kysely
    .insertInto('task_instances')
    .values({
      run_id: 'r1',
      task_id: taskId,
      state,
      try_number: tryNumber,
      max_tries: maxTries,
      updated_at: 1,
    })
    .execute();
  if (state !== 'running') return null;
  const row = await store.kysely
    .insertInto('attempts')
    .values({
      run_id: 'r1',
      task_id: taskId,
      try_number: tryNumber,
      state: 'running',
      started_at: 1,
      worker_id: 'w1',
      heartbeat_at: 1,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}
