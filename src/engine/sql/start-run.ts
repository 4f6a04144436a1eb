/** Moves a run from queued to running and creates its task instances, in the caller's transaction. @module */
import type { TaskState } from '../states.ts';
import { chunks, type Queryable, rawUpdate, tuples } from './executor-db.ts';

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
  const started = await rawUpdate(
    q,
    "update runs set state = 'running', started_at = ? where id = ? and state = 'queued'",
    [now, runId],
  );
  if (started !== 1) return false;
  for (const part of chunks(tasks, 500)) {
    const params: unknown[] = [];
    for (const t of part) params.push(runId, t.taskId, t.state, t.maxTries, now, t.queue ?? 'default');
    await rawUpdate(
      q,
      `insert into task_instances (run_id, task_id, state, try_number, max_tries, updated_at, queue)
       values ${tuples(part.length, '(?, ?, ?, 0, ?, ?, ?)')}`,
      params,
    );
  }
  return true;
}
