/** Each run names the audit record of the decision that created it, so the executor can refuse runs written around the gate. @module */
import type { Kysely } from 'kysely';

export function runDecisionMigration() {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('runs').addColumn('decision_seq', 'bigint').execute();
    },
  };
}
