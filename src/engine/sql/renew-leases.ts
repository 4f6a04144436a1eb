/** Attempt leases: the holder's heartbeat renews all it holds in one statement. @module */
import { sql } from 'kysely';
import { isPostgres, type Queryable } from './executor-db.ts';

/**
 * The holder's heartbeat: one UPDATE renews every running attempt it holds. Returns the ids still
 * held; an attempt it runs that is missing was reclaimed (its lease had expired), and is aborted.
 * On PostgreSQL, rows locked by another transaction are skipped, not waited for: the holder's own
 * cycle completing them (waiting could deadlock with it), or a reclaimer taking them (then they are
 * lost anyway).
 */
export async function renewLeases(
  q: Queryable,
  workerId: string,
  now: number,
  leaseMs: number,
): Promise<Set<number>> {
  if (isPostgres(q)) {
    const { rows } = await sql<{ id: string | number }>`
      update attempts set lease_expires_at = ${now + leaseMs}, heartbeat_at = ${now}
      where id in (
        select id from attempts where worker_id = ${workerId} and state = 'running' for update skip locked
      )
      returning id`.execute(q);
    return new Set(rows.map((r) => Number(r.id)));
  }
  const rows = await q
    .updateTable('attempts')
    .set({ lease_expires_at: now + leaseMs, heartbeat_at: now })
    .where('worker_id', '=', workerId)
    .where('state', '=', 'running')
    .returning('id')
    .execute();
  return new Set(rows.map((r) => Number(r.id)));
}
