/**
 * The delivery of an approved DAG action (an Airflow unpause): `pending` while the bridge tries it
 * (retried with backoff, `attempts` and `last_error` saying how it went), then `done` or `failed`.
 * Requests approved before this table existed are marked from the audit trail: `done` where it
 * records the unpause, `failed` otherwise (they were tried once, never retried). Never edit after it
 * lands: add a migration.
 * @module
 */
import { type Kysely, sql } from 'kysely';

export function dagActionDeliveriesMigration() {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('dag_action_deliveries')
        .addColumn('approval_id', 'text', (c) =>
          c.primaryKey().references('approval_requests.id').onDelete('cascade'),
        )
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('env', 'text', (c) => c.notNull())
        .addColumn('dag_id', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'bigint')
        .addColumn('last_error', 'text')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('dag_action_deliveries_due')
        .on('dag_action_deliveries')
        .columns(['state', 'next_attempt_at'])
        .execute();
      await sql`insert into dag_action_deliveries
          (approval_id, action, env, dag_id, state, attempts, next_attempt_at, last_error, updated_at)
        select a.id, a.action, a.env, a.dag_id,
          case when exists (select 1 from audit_records r where r.approval_id = a.id
            and r.action = 'airflow.' || a.action and r.outcome in ('unpaused')) then 'done' else 'failed' end,
          1, null,
          case when exists (select 1 from audit_records r where r.approval_id = a.id
            and r.action = 'airflow.' || a.action and r.outcome in ('unpaused')) then null
            else 'approved before deliveries were retried; see the audit trail' end,
          coalesce(a.decided_at, a.created_at)
        from approval_requests a
        where a.action is not null and a.state = 'approved'`.execute(db);
    },
  };
}
