/** The audit trail: the append-only hash chain, its head, signed checkpoints and sink cursors. Never edit after it lands. @module */
import { type Kysely, sql } from 'kysely';
import type { DialectName } from '../create-db.ts';

const GENESIS_HASH = '0'.repeat(64);

export function auditMigration(dialect: DialectName) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      // On SQLite, `integer primary key` makes seq the rowid: appends and range scans avoid a second b-tree.
      const seqType = dialect === 'sqlite' ? 'integer' : 'bigint';
      await db.schema
        .createTable('audit_records')
        .addColumn('seq', seqType, (c) => c.primaryKey())
        .addColumn('ts', 'bigint', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('actor_kind', 'text')
        .addColumn('actor_id', 'text')
        .addColumn('actor_subject', 'text')
        .addColumn('actor_issuer', 'text')
        .addColumn('actor_display_name', 'text')
        .addColumn('actor_groups', 'text')
        .addColumn('actor_token_id', 'text')
        .addColumn('actor_client', 'text')
        .addColumn('env', 'text')
        .addColumn('dag_id', 'text')
        .addColumn('dag_version', 'text')
        .addColumn('run_id', 'text')
        .addColumn('task_id', 'text')
        .addColumn('approval_id', 'text')
        .addColumn('source', 'text')
        .addColumn('request_id', 'text')
        .addColumn('params_hash', 'text')
        .addColumn('params', 'text')
        .addColumn('decision_effect', 'text')
        .addColumn('decision', 'text')
        .addColumn('outcome', 'text')
        .addColumn('details', 'text')
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('audit_records_ts_idx').on('audit_records').column('ts').execute();
      await db.schema
        .createIndex('audit_records_dag_idx')
        .on('audit_records')
        .columns(['env', 'dag_id', 'seq'])
        .execute();
      await db.schema.createIndex('audit_records_run_idx').on('audit_records').column('run_id').execute();
      await db.schema
        .createIndex('audit_records_actor_idx')
        .on('audit_records')
        .columns(['actor_id', 'seq'])
        .execute();

      await db.schema
        .createTable('audit_head')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await db.insertInto('audit_head').values({ id: 1, seq: 0, hash: GENESIS_HASH }).execute();

      await db.schema
        .createTable('audit_checkpoints')
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('signature', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('ts', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('audit_checkpoints_pk', ['seq', 'key_id'])
        .execute();

      await db.schema
        .createTable('audit_sink_cursors')
        .addColumn('sink', 'text', (c) => c.primaryKey())
        .addColumn('last_seq', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      // Defence in depth: the application never updates or deletes a record. Someone with DDL rights
      // can drop these triggers; the hash chain and the signed checkpoints then catch the edit.
      if (dialect === 'sqlite') {
        await sql`create trigger audit_records_no_update before update on audit_records
          begin select raise(abort, 'audit_records is append-only'); end`.execute(db);
        await sql`create trigger audit_records_no_delete before delete on audit_records
          begin select raise(abort, 'audit_records is append-only'); end`.execute(db);
      } else {
        await sql`create function audit_records_append_only() returns trigger language plpgsql as $$
          begin raise exception 'audit_records is append-only'; end $$`.execute(db);
        await sql`create trigger audit_records_append_only before update or delete on audit_records
          for each row execute function audit_records_append_only()`.execute(db);
      }
    },
  };
}
