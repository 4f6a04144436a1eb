/**
 * Attempts whose lease ran out: their holder stopped renewing it (killed, cut off, its event loop
 * stalled). Only those are reclaimed, never an attempt whose holder is alive. Rows are locked with
 * `SKIP LOCKED`, so two workers never reclaim the same attempt, and the reclaim itself is a fenced
 * completion (reason `lease_expired`): if the holder completes first, the reclaim finds nothing.
 * @module
 */
import { sql, type Transaction } from 'kysely';
import type { Database } from '../../store/database.ts';
import type { FleetCompletion } from './complete-fleet-attempts.ts';

export async function findExpiredAttempts(
  trx: Transaction<Database>,
  workerId: string,
  now: number,
  limit = 100,
): Promise<FleetCompletion[]> {
  const { rows } = await sql<{
    id: string;
    run_id: string;
    task_id: string;
    try_number: number;
    lease_token: string | null;
    worker_id: string;
    lease_expires_at: string | null;
    max_tries: number;
  }>`
    select a.id, a.run_id, a.task_id, a.try_number, a.lease_token, a.worker_id, a.lease_expires_at, t.max_tries
    from attempts a join task_instances t on t.run_id = a.run_id and t.task_id = a.task_id
    where a.state = 'running' and a.lease_expires_at < ${now} and a.worker_id not like 'airflow:%'
    order by a.lease_expires_at limit ${limit}
    for update of a skip locked`.execute(trx);
  return rows
    .filter((r) => r.lease_token !== null)
    .map((r) => ({
      attemptId: Number(r.id),
      leaseToken: r.lease_token!,
      runId: r.run_id,
      taskId: r.task_id,
      tryNumber: r.try_number,
      maxTries: r.max_tries,
      workerId,
      result: {
        state: 'failed' as const,
        reason: 'lease_expired' as const,
        error: `lease_expired: worker ${r.worker_id} stopped renewing this attempt's lease (expired ${new Date(Number(r.lease_expires_at)).toISOString()}); reclaimed by ${workerId} and retried by the task's retry policy`,
      },
    }));
}
