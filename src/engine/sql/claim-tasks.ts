/** Claims queued task instances of one run: queued → running, and one new leased attempt each. @module */
import { sql } from 'kysely';
import { chunks, isPostgres, type Queryable, rawQuery, tuples } from './executor-db.ts';

export interface ClaimedAttempt {
  readonly taskId: string;
  readonly tryNumber: number;
  readonly attemptId: number;
  /** The fencing token of this claim: completing the attempt must present it. */
  readonly leaseToken: string;
}

/** How long an attempt's lease lasts without a heartbeat, unless configured (`engine.attemptLeaseMs`). */
export const DEFAULT_ATTEMPT_LEASE_MS = 30_000;

/** Only the task instances still `queued` are claimed; the rest are left alone. */
export async function claimTasks(
  q: Queryable,
  runId: string,
  taskIds: readonly string[],
  workerId: string,
  now: number,
  leaseMs = DEFAULT_ATTEMPT_LEASE_MS,
): Promise<ClaimedAttempt[]> {
  const out: ClaimedAttempt[] = [];
  const expires = now + leaseMs;
  for (const part of chunks(taskIds, 500)) {
    if (isPostgres(q)) {
      // One round trip: claim and insert the attempts of what was claimed.
      const { rows } = await sql<{
        id: string | number;
        task_id: string;
        try_number: number;
        lease_token: string;
      }>`
        with c as (
          update task_instances set state = 'running', try_number = try_number + 1, updated_at = ${now},
            next_try_at = null
          where run_id = ${runId} and task_id in (${sql.join(part)}) and state = 'queued'
          returning task_id, try_number
        )
        insert into attempts (run_id, task_id, try_number, state, started_at, worker_id, heartbeat_at,
          lease_expires_at, lease_token)
        select ${runId}::text, task_id, try_number, 'running', ${now}::bigint, ${workerId}::text, ${now}::bigint,
          ${expires}::bigint, gen_random_uuid()::text from c
        returning id, task_id, try_number, lease_token`.execute(q);
      for (const a of rows)
        out.push({
          taskId: a.task_id,
          tryNumber: a.try_number,
          attemptId: Number(a.id),
          leaseToken: a.lease_token,
        });
      continue;
    }
    // Text, not Kysely's builder: these run for every task (see `rawQuery`).
    const claimed = await rawQuery<{ task_id: string; try_number: number }>(
      q,
      `update task_instances set state = 'running', try_number = try_number + 1, updated_at = ?, next_try_at = null
       where run_id = ? and state = 'queued' and task_id in (${tuples(part.length, '?')})
       returning task_id, try_number`,
      [now, runId, ...part],
    );
    if (claimed.length === 0) continue;
    const params: unknown[] = [];
    for (const c of claimed) params.push(runId, c.task_id, c.try_number, now, workerId, now, expires);
    const attempts = await rawQuery<{ id: number; task_id: string; try_number: number; lease_token: string }>(
      q,
      `insert into attempts (run_id, task_id, try_number, state, started_at, worker_id, heartbeat_at,
         lease_expires_at, lease_token)
       values ${tuples(claimed.length, "(?, ?, ?, 'running', ?, ?, ?, ?, lower(hex(randomblob(16))))")}
       returning id, task_id, try_number, lease_token`,
      params,
    );
    for (const a of attempts)
      out.push({
        taskId: a.task_id,
        tryNumber: a.try_number,
        attemptId: Number(a.id),
        leaseToken: a.lease_token ?? '',
      });
  }
  return out;
}
