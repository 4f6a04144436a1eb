/**
 * Approval requests for a DAG action (an Airflow unpause) rather than a run: `action` names the
 * action (null for a run's own request), and `run_id` may be null for such a request. PostgreSQL
 * drops the NOT NULL in place; SQLite cannot, so the table is rebuilt the way SQLite documents
 * (foreign keys off so that dropping the old table does not cascade to the votes, all in one
 * transaction). Never edit after it lands: add a migration.
 * @module
 */
import { type Kysely, sql } from 'kysely';
import type { DialectName } from '../create-db.ts';

const COLUMNS =
  'id, kind, run_id, env, dag_id, dag_version, params_hash, requested_by_kind, requested_by, quorum, state, reason, created_at, expires_at, decided_at';

export function dagActionApprovalsMigration(dialect: DialectName) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      if (dialect === 'postgres') {
        await sql`alter table approval_requests alter column run_id drop not null`.execute(db);
        await db.schema.alterTable('approval_requests').addColumn('action', 'text').execute();
        return;
      }
      // Kysely runs SQLite migrations outside a transaction on its one connection: ours to manage.
      await sql`pragma foreign_keys = off`.execute(db);
      try {
        await sql`begin immediate`.execute(db);
        try {
          await sql`create table approval_requests_new (
            id text primary key,
            kind text not null,
            run_id text references runs(id) on delete cascade,
            env text not null,
            dag_id text not null,
            dag_version text not null,
            params_hash text not null,
            requested_by_kind text not null,
            requested_by text not null,
            quorum integer not null,
            state text not null,
            reason text,
            created_at bigint not null,
            expires_at bigint,
            decided_at bigint,
            action text,
            constraint approval_requests_run_kind_uq unique (run_id, kind)
          )`.execute(db);
          await sql
            .raw(`insert into approval_requests_new (${COLUMNS}) select ${COLUMNS} from approval_requests`)
            .execute(db);
          await sql`drop table approval_requests`.execute(db);
          await sql`alter table approval_requests_new rename to approval_requests`.execute(db);
          await sql`create index approval_requests_state_idx on approval_requests (state, expires_at)`.execute(
            db,
          );
          await sql`commit`.execute(db);
        } catch (e) {
          await sql`rollback`.execute(db);
          throw e;
        }
      } finally {
        await sql`pragma foreign_keys = on`.execute(db);
      }
    },
  };
}
