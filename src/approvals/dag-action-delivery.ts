/**
 * How far an approved DAG action (an Airflow unpause) got: the request shows it, so that "approved"
 * is never mistaken for "done". The bridge writes it (src/airflow/airflow-unpause-deliverer.ts).
 * @module
 */
import type { Kysely, Transaction } from 'kysely';
import type { DagActionDeliveriesTable, Database } from '../store/database.ts';

/** `pending` (with its tries and next try), `done`, or `failed` with why. Times are epoch ms. */
export type DagActionDelivery = Pick<
  DagActionDeliveriesTable,
  'state' | 'attempts' | 'next_attempt_at' | 'last_error' | 'updated_at'
>;

/**
 * The delivery of an approved DAG action's request; null when there is none (yet).
 *
 * @example
 * const d = await getDagActionDelivery(db.kysely, approval.id); // { state: 'pending', attempts: 2, ... }
 */
export async function getDagActionDelivery(
  q: Kysely<Database> | Transaction<Database>,
  approvalId: string,
): Promise<DagActionDelivery | null> {
  const row = await q
    .selectFrom('dag_action_deliveries')
    .select(['state', 'attempts', 'next_attempt_at', 'last_error', 'updated_at'])
    .where('approval_id', '=', approvalId)
    .executeTakeFirst();
  return row ?? null;
}
