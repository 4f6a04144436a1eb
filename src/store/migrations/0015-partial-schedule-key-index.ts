/**
 * The unique index on a run's schedule key covers only runs that have one. NULL keys never conflict,
 * so the constraint is the same, but every manual trigger, approval and API run used to write an
 * index entry for its NULL key: one more page in each trigger's commit (~12 WAL frames on SQLite).
 * Lookups by key (`schedule_key = ?`) imply it is not null, so both stores' planners still use it.
 * Never edit after it lands: add a migration.
 * @module
 */
import { type Kysely, sql } from 'kysely';

export function partialScheduleKeyIndexMigration() {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.dropIndex('runs_schedule_key_uq').execute();
      await db.schema
        .createIndex('runs_schedule_key_uq')
        .on('runs')
        .columns(['env', 'dag_id', 'schedule_key'])
        .unique()
        .where(sql.ref('schedule_key'), 'is not', null)
        .execute();
    },
  };
}
