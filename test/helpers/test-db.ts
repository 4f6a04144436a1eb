/**
 * Test stores on real services: a SQLite file in a temp folder, or a fresh schema on the test
 * PostgreSQL (the configured one, or a throwaway one the global setup started). Each call gets its own, so test files
 * never share state.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createDb, type Db, type DialectName } from '../../src/store/create-db.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { configuredPgUrl } from './test-pg-url.ts';

/** Set by the global setup (test/helpers/postgres-global-setup.ts) before any test file runs. */
export const PG_URL = configuredPgUrl();

/** The dialects every store and engine test runs on. */
export const DIALECTS: readonly DialectName[] = ['sqlite', 'postgres'];

export interface TestDb extends Db {
  /** The URL (and schema) another process can use to open the same store. */
  readonly url: string;
  readonly schema?: string;
}

/** Opens a new, migrated store of the given dialect. `close()` also deletes it. */
export async function createTestDb(
  dialect: DialectName,
  options: { migrate?: boolean } = {},
): Promise<TestDb> {
  let db: Db;
  let url: string;
  let schema: string | undefined;
  let cleanup: () => Promise<void>;
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'airclutch-test-'));
    url = join(dir, 'test.db');
    db = createDb({ url });
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    schema = `t_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    await admin.end();
    url = PG_URL;
    db = createDb({ url, schema, poolSize: 4 });
    const s = schema;
    cleanup = async () => {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`drop schema if exists ${s} cascade`);
      await c.end();
    };
  }
  if (options.migrate !== false) await migrateToLatest(db);
  return {
    ...db,
    url,
    ...(schema ? { schema } : {}),
    close: async () => {
      await db.close();
      await cleanup();
    },
  };
}
