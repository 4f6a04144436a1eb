/**
 * The attempts' state index covers only running attempts. Every query that reads it asks for
 * `state = 'running'` (a worker's leases, the attempts to recover), while every attempt that ends
 * used to move its entry from the running part of the index to the ever-growing part of the ended
 * ones: two index pages in each task's commit instead of one (~14 WAL frames a chain step on SQLite).
 * On SQLite the executor's updates by id still go through the primary key, and lease renewal and
 * recovery read this index (`test/store/migrate.test.ts` checks their plans).
 * Never edit after it lands: add a migration.
 * @module
 */
import { type Kysely, sql } from 'kysely';

export function partialAttemptsStateIndexMigration() {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.dropIndex('attempts_state_idx').execute();
      await db.schema
        .createIndex('attempts_running_idx')
        .on('attempts')
        .columns(['worker_id'])
        .where(sql.ref('state'), '=', 'running')
        .execute();
    },
  };
}
