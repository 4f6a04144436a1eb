/** Moves a run from queued to running and creates its task instances, in the caller's transaction. @module */
import type { TaskState } from '../states.ts';
import { chunks, type Queryable } from './executor-db.ts';

export interface NewTaskInstance {
  readonly taskId: string;
  readonly state: TaskState;
  readonly maxTries: number;
  readonly queue?: string;
}

/** Returns false (and writes nothing) when the run was no longer queued. */
export async function startRun(
  q: Queryable,
  runId: string,
  tasks: readonly NewTaskInstance[],
  now: number,
): Promise<boolean> {
  const res = await q
    .updateTable('runs')
    .set({ state: 'running', started_at: now })
    .where('id', '=', runId)
    .where('state', '=', 'queued')
    .executeTakeFirst();
  if (Number(res.numUpdatedRows) !== 1) return false;
  for (const part of chunks(tasks, 500)) {
    await q
      .insertInto('task_instances')
      .values(
        part.map((t) => ({
          run_id: runId,
          task_id: t.taskId,
          state: t.state,
          try_number: 0,
          max_tries: t.maxTries,
          updated_at: now,
          queue: t.queue ?? 'default',
        })),
      )
      .execute();
  }
  return true;
}
