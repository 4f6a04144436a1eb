/** DAGs, runs, task instances, attempts and their logs. Never edit after it lands: add a migration. @module */
import type { Kysely } from 'kysely';
import type { DialectName } from '../create-db.ts';
import { autoId } from './column-types.ts';

export function engineMigration(dialect: DialectName) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('dags')
        .addColumn('env', 'text', (c) => c.notNull())
        .addColumn('dag_id', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('file', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('owner', 'text')
        .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('schedule', 'text')
        .addColumn('timezone', 'text')
        .addColumn('params_schema', 'text', (c) => c.notNull())
        .addColumn('catchup', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('max_active_runs', 'integer', (c) => c.notNull())
        .addColumn('is_paused', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_scheduled_at', 'bigint')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('dags_pk', ['env', 'dag_id'])
        .execute();

      await db.schema
        .createTable('runs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('env', 'text', (c) => c.notNull())
        .addColumn('dag_id', 'text', (c) => c.notNull())
        .addColumn('dag_version', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('params', 'text', (c) => c.notNull())
        .addColumn('params_hash', 'text', (c) => c.notNull())
        .addColumn('logical_date', 'bigint')
        .addColumn('schedule_key', 'text')
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('requested_by_kind', 'text', (c) => c.notNull())
        .addColumn('requested_by', 'text', (c) => c.notNull())
        .addColumn('note', 'text')
        .addColumn('break_glass', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('started_at', 'bigint')
        .addColumn('ended_at', 'bigint')
        .addColumn('error', 'text')
        .execute();
      await db.schema
        .createIndex('runs_dag_idx')
        .on('runs')
        .columns(['env', 'dag_id', 'created_at'])
        .execute();
      await db.schema.createIndex('runs_state_idx').on('runs').columns(['state', 'created_at']).execute();
      await db.schema
        .createIndex('runs_schedule_key_uq')
        .on('runs')
        .columns(['env', 'dag_id', 'schedule_key'])
        .unique()
        .execute();

      await db.schema
        .createTable('task_instances')
        .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
        .addColumn('task_id', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('try_number', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('max_tries', 'integer', (c) => c.notNull())
        .addColumn('next_try_at', 'bigint')
        .addColumn('output', 'text')
        .addColumn('error', 'text')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('task_instances_pk', ['run_id', 'task_id'])
        .execute();

      await autoId(db.schema.createTable('attempts'), dialect)
        .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
        .addColumn('task_id', 'text', (c) => c.notNull())
        .addColumn('try_number', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('ended_at', 'bigint')
        .addColumn('error', 'text')
        .addColumn('exit_code', 'integer')
        .addColumn('worker_id', 'text', (c) => c.notNull())
        .addColumn('heartbeat_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('attempts_try_uq', ['run_id', 'task_id', 'try_number'])
        .execute();
      await db.schema
        .createIndex('attempts_state_idx')
        .on('attempts')
        .columns(['state', 'worker_id'])
        .execute();

      await autoId(db.schema.createTable('task_logs'), dialect)
        .addColumn('attempt_id', 'bigint', (c) => c.notNull())
        .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
        .addColumn('task_id', 'text', (c) => c.notNull())
        .addColumn('ts', 'bigint', (c) => c.notNull())
        .addColumn('stream', 'text', (c) => c.notNull())
        .addColumn('line', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('task_logs_run_idx').on('task_logs').columns(['run_id', 'id']).execute();
    },
  };
}
