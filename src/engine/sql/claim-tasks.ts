/** Claims queued task instances of one run: queued → running, and one new attempt each. @module */
import { sql } from 'kysely';
import { chunks, isPostgres, type Queryable } from './executor-db.ts';

export interface ClaimedAttempt {
  readonly taskId: string;
  readonly tryNumber: number;
  readonly attemptId: number;
}

/** Only the task instances still `queued` are claimed; the rest are left alone. */
export async function claimTasks(
  q: Queryable,
  runId: string,
  taskIds: readonly string[],
  workerId: string,
  now: number,
): Promise<ClaimedAttempt[]> {
  const out: ClaimedAttempt[] = [];
  for (const part of chunks(taskIds, 500)) {
    if (isPostgres(q)) {
      // One round trip: claim and insert the attempts of what was claimed.
      const { rows } = await sql<{ id: string | number; task_id: string; try_number: number }>`
        with c as (
          update task_instances set state = 'running', try_number = try_number + 1, updated_at = ${now},
            next_try_at = null
          where run_id = ${runId} and task_id in (${sql.join(part)}) and state = 'queued'
          returning task_id, try_number
        )
        insert into attempts (run_id, task_id, try_number, state, started_at, worker_id, heartbeat_at)
        select ${runId}::text, task_id, try_number, 'running', ${now}::bigint, ${workerId}::text, ${now}::bigint from c
        returning id, task_id, try_number`.execute(q);
      for (const a of rows) out.push({ taskId: a.task_id, tryNumber: a.try_number, attemptId: Number(a.id) });
      continue;
    }
    const claimed = await q
      .updateTable('task_instances')
      .set({ state: 'running', try_number: sql`try_number + 1`, updated_at: now, next_try_at: null })
      .where('run_id', '=', runId)
      .where('task_id', 'in', part)
      .where('state', '=', 'queued')
      .returning(['task_id', 'try_number'])
      .execute();
    if (claimed.length === 0) continue;
    const attempts = await q
      .insertInto('attempts')
      .values(
        claimed.map((c) => ({
          run_id: runId,
          task_id: c.task_id,
          try_number: c.try_number,
          state: 'running' as const,
          started_at: now,
          worker_id: workerId,
          heartbeat_at: now,
        })),
      )
      .returning(['id', 'task_id', 'try_number'])
      .execute();
    for (const a of attempts)
      out.push({ taskId: a.task_id, tryNumber: a.try_number, attemptId: Number(a.id) });
  }
  return out;
}
