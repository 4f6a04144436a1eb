/** Approval requests and their votes. Never edit after it lands: add a migration. @module */
import type { Kysely } from 'kysely';

export function approvalsMigration() {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('approval_requests')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
        .addColumn('env', 'text', (c) => c.notNull())
        .addColumn('dag_id', 'text', (c) => c.notNull())
        .addColumn('dag_version', 'text', (c) => c.notNull())
        .addColumn('params_hash', 'text', (c) => c.notNull())
        .addColumn('requested_by_kind', 'text', (c) => c.notNull())
        .addColumn('requested_by', 'text', (c) => c.notNull())
        .addColumn('quorum', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint')
        .addColumn('decided_at', 'bigint')
        .addUniqueConstraint('approval_requests_run_kind_uq', ['run_id', 'kind'])
        .execute();
      await db.schema
        .createIndex('approval_requests_state_idx')
        .on('approval_requests')
        .columns(['state', 'expires_at'])
        .execute();
      await db.schema
        .createTable('approval_votes')
        .addColumn('request_id', 'text', (c) =>
          c.notNull().references('approval_requests.id').onDelete('cascade'),
        )
        .addColumn('voter_kind', 'text', (c) => c.notNull())
        .addColumn('voter', 'text', (c) => c.notNull())
        .addColumn('vote', 'text', (c) => c.notNull())
        .addColumn('comment', 'text')
        .addColumn('params_hash', 'text', (c) => c.notNull())
        .addColumn('dag_version', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('approval_votes_pk', ['request_id', 'voter_kind', 'voter'])
        .execute();
    },
  };
}
