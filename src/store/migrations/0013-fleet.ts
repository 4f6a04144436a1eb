/**
 * Scale-out: per-attempt leases with a fencing token, the queue a task instance is claimed from,
 * the live workers, the engine lease's fencing token, and (on PostgreSQL) the NOTIFY that wakes
 * waiting workers in the transaction that queues a run. Never edit after it lands: add a migration.
 * @module
 */
import { type Kysely, sql } from 'kysely';
import type { DialectName } from '../create-db.ts';

export function fleetMigration(dialect: DialectName) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('attempts').addColumn('lease_expires_at', 'bigint').execute();
      await db.schema.alterTable('attempts').addColumn('lease_token', 'text').execute();
      await db.schema
        .alterTable('task_instances')
        .addColumn('queue', 'text', (c) => c.notNull().defaultTo('default'))
        .execute();
      await db.schema.alterTable('engine_leases').addColumn('token', 'text').execute();
      await db.schema
        .createTable('workers')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('host', 'text', (c) => c.notNull())
        .addColumn('pid', 'integer', (c) => c.notNull())
        .addColumn('queues', 'text', (c) => c.notNull())
        .addColumn('concurrency', 'integer', (c) => c.notNull())
        .addColumn('running', 'integer', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
        .addColumn('draining', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      if (dialect !== 'postgres') return;
      // The fleet's claim, reclaim and retry queries. Only PostgreSQL runs a fleet; on SQLite the
      // planner would pick a partial index over the primary key for the executor's own updates.
      await db.schema
        .createIndex('attempts_lease_idx')
        .on('attempts')
        .columns(['state', 'lease_expires_at'])
        .execute();
      await db.schema
        .createIndex('task_instances_ready_idx')
        .on('task_instances')
        .columns(['queue', 'updated_at'])
        .where(sql.ref('state'), '=', 'queued')
        .execute();
      await db.schema
        .createIndex('task_instances_retry_idx')
        .on('task_instances')
        .columns(['next_try_at'])
        .where(sql.ref('state'), '=', 'up_for_retry')
        .execute();
      // One channel per schema (TG_TABLE_SCHEMA), so stores sharing a database do not wake each
      // other. Notifications of one transaction with the same payload are folded into one. Runs
      // queued (by the gate, an approval) and cancelled notify here; a worker that leaves ready
      // tasks it could not claim notifies in its own transaction (it claims the rest itself, so a
      // trigger on every task would wake every worker on every commit for nothing).
      await sql`
        create function airclutch_notify_work() returns trigger language plpgsql as $$
        begin
          perform pg_notify('airclutch_work_' || tg_table_schema, tg_table_name);
          return null;
        end $$`.execute(db);
      await sql`
        create trigger runs_queued_notify after insert or update of state on runs
        for each row when (new.state in ('queued', 'cancelled')) execute function airclutch_notify_work()`.execute(
        db,
      );
    },
  };
}
