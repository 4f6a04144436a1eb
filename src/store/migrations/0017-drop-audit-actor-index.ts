/**
 * Drops the audit records' `(actor_id, seq)` index. The one query that filters by actor matches
 * `actor_id` or `actor_subject` (or `kind:id`), so neither store's planner can use an index on one
 * of them: SQLite's plan was a scan in `seq` order with the index as without it. The index only
 * cost a page in the commit of every audited transition.
 * Never edit after it lands: add a migration.
 * @module
 */
import type { Kysely } from 'kysely';

export function dropAuditActorIndexMigration() {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.dropIndex('audit_records_actor_idx').execute();
    },
  };
}
