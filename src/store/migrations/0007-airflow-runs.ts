/** Airflow bridge: one row per run delivered (or being delivered) to Airflow, with its remote id and delivery state. @module */
import type { Kysely } from 'kysely';

export function airflowRunsMigration() {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('airflow_runs')
        .addColumn('run_id', 'text', (c) => c.primaryKey())
        .addColumn('env', 'text', (c) => c.notNull())
        .addColumn('dag_id', 'text', (c) => c.notNull())
        .addColumn('remote_run_id', 'text', (c) => c.notNull())
        .addColumn('delivery_state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'bigint')
        .addColumn('last_error', 'text')
        .addColumn('remote_state', 'text')
        .addColumn('dag_version', 'text', (c) => c.notNull())
        .addColumn('cancel_sent', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('airflow_runs_delivery')
        .on('airflow_runs')
        .columns(['delivery_state', 'next_attempt_at'])
        .execute();
    },
  };
}
