/** Attempt leases: the holder's heartbeat renews all it holds in one statement. @module */
import type { Queryable } from './executor-db.ts';

/**
 * The holder's heartbeat: one UPDATE renews every running attempt it holds. Returns the ids still
 * held; an attempt it runs that is missing was reclaimed (its lease had expired), and is aborted.
 */
export async function renewLeases(
  q: Queryable,
  workerId: string,
  now: number,
  leaseMs: number,
): Promise<Set<number>> {
  const rows = await q
    .updateTable('attempts')
    .set({ lease_expires_at: now + leaseMs, heartbeat_at: now })
    .where('worker_id', '=', workerId)
    .where('state', '=', 'running')
    .returning('id')
    .execute();
  return new Set(rows.map((r) => Number(r.id)));
}
