/** Moves a run from queued to running and creates its task instances, in the caller's transaction. @module */
import { sql } from 'kysely';
import type { TaskState } from '../states.ts';
import { chunks, isPostgres, type Queryable, rawUpdate, tuples } from './executor-db.ts';

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
  if (isPostgres(q)) return startRunOnPostgres(q, runId, tasks, now);
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

/**
 * On PostgreSQL one statement, one round trip: the run's move, and its task instances inserted
 * only if the run moved (the insert reads the update's row).
 */
async function startRunOnPostgres(
  q: Queryable,
  runId: string,
  tasks: readonly NewTaskInstance[],
  now: number,
): Promise<boolean> {
  const { rows } = await sql<{ started: number }>`
    with s as (
      update runs set state = 'running', started_at = ${now} where id = ${runId} and state = 'queued'
      returning id
    ), i as (
      insert into task_instances (run_id, task_id, state, try_number, max_tries, updated_at, queue)
      select s.id, t.task_id, t.state, 0, t.max_tries, ${now}::bigint, t.queue
      from s, unnest(${tasks.map((t) => t.taskId)}::text[], ${tasks.map((t) => t.state)}::text[],
        ${tasks.map((t) => t.maxTries)}::integer[], ${tasks.map((t) => t.queue ?? 'default')}::text[])
        as t (task_id, state, max_tries, queue)
    )
    select count(*)::int as started from s`.execute(q);
  return rows[0]?.started === 1;
}
