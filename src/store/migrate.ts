/** Versioned migrations: numbered, append-only, run in order by Kysely's migrator under its lock. @module */
import { type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import { AirclutchError } from '../lib/errors.ts';
import type { Db, DialectName } from './create-db.ts';
import { engineMigration } from './migrations/0001-engine.ts';
import { auditMigration } from './migrations/0002-audit.ts';
import { approvalsMigration } from './migrations/0003-approvals.ts';
import { identityMigration } from './migrations/0004-identity.ts';
import { engineLeaseMigration } from './migrations/0005-engine-lease.ts';
import { runDecisionMigration } from './migrations/0006-run-decision.ts';
import { airflowRunsMigration } from './migrations/0007-airflow-runs.ts';
import { dagActionApprovalsMigration } from './migrations/0008-dag-action-approvals.ts';
import { dagActionDeliveriesMigration } from './migrations/0011-dag-action-deliveries.ts';
import { fleetMigration } from './migrations/0013-fleet.ts';
import { auditAppendFunctionMigration } from './migrations/0014-audit-append-function.ts';
import { partialScheduleKeyIndexMigration } from './migrations/0015-partial-schedule-key-index.ts';
import { partialAttemptsStateIndexMigration } from './migrations/0016-partial-attempts-state-index.ts';
import { dropAuditActorIndexMigration } from './migrations/0017-drop-audit-actor-index.ts';

/** Every migration, in order. Append only: a landed migration is never edited. */
export function allMigrations(dialect: DialectName): Record<string, Migration> {
  return {
    '0001-engine': engineMigration(dialect),
    '0002-audit': auditMigration(dialect),
    '0003-approvals': approvalsMigration(),
    '0004-identity': identityMigration(dialect),
    '0005-engine-lease': engineLeaseMigration(),
    '0006-run-decision': runDecisionMigration(),
    '0007-airflow-runs': airflowRunsMigration(),
    '0008-dag-action-approvals': dagActionApprovalsMigration(dialect),
    '0011-dag-action-deliveries': dagActionDeliveriesMigration(),
    '0013-fleet': fleetMigration(dialect),
    '0014-audit-append-function': auditAppendFunctionMigration(dialect),
    '0015-partial-schedule-key-index': partialScheduleKeyIndexMigration(),
    '0016-partial-attempts-state-index': partialAttemptsStateIndexMigration(),
    '0017-drop-audit-actor-index': dropAuditActorIndexMigration(),
  };
}

class StaticProvider implements MigrationProvider {
  constructor(private readonly migrations: Record<string, Migration>) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return this.migrations;
  }
}

/**
 * What Kysely's introspection of every schema can hit while another process drops or alters its own
 * tables: invalid_schema_name, undefined_table, undefined_column, and "could not open relation with
 * OID" (XX000, a catalog row gone between two reads).
 */
const INTROSPECTION_RACES = new Set(['3F000', '42P01', '42703', 'XX000']);
const codeOf = (e: unknown) => (e as { code?: unknown } | undefined)?.code as string | undefined;

/** Applies every pending migration. Returns the names applied. */
export async function migrateToLatest(db: Db): Promise<string[]> {
  // Without an explicit schema, Kysely's migrator finds its tables in ANY schema of the database
  // (another test's, another tenant's) and then fails to read them through our search_path.
  const schema =
    db.dialect === 'postgres'
      ? (await sql<{ s: string }>`select current_schema() as s`.execute(db.kysely)).rows[0]?.s
      : undefined;
  const migrator = new Migrator({
    db: db.kysely,
    ...(schema ? { migrationTableSchema: schema } : {}),
    provider: new StaticProvider(allMigrations(db.dialect)),
    migrationTableName: 'airclutch_migrations',
    migrationLockTableName: 'airclutch_migrations_lock',
  });
  let { error, results } = await migrator.migrateToLatest();
  // Kysely introspects the tables of every schema before it migrates; a schema, table or column
  // another process drops meanwhile fails that read. Nothing was applied yet (no results), so trying
  // again is safe.
  for (
    let retry = 0;
    retry < 5 && results === undefined && INTROSPECTION_RACES.has(codeOf(error) ?? '');
    retry++
  ) {
    await new Promise((r) => setTimeout(r, 50 * (retry + 1)));
    ({ error, results } = await migrator.migrateToLatest());
  }
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new AirclutchError(
      'STORE_UNAVAILABLE',
      `migration ${failed} failed on ${db.description}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
