import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { createTestDb, DIALECTS, type TestDb } from '../helpers/test-db.ts';

describe.each(DIALECTS)('migrations on %s', (dialect) => {
  let db: TestDb | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
  });

  it('creates every table on an empty store and applies nothing the second time', async () => {
    db = await createTestDb(dialect, { migrate: false });
    const first = await migrateToLatest(db);
    expect(first).toContain('0001-engine');
    expect(await migrateToLatest(db)).toEqual([]);
    const rows = await db.kysely.selectFrom('runs').selectAll().execute();
    expect(rows).toEqual([]);
  });

  it.runIf(dialect === 'sqlite')(
    'keeps the SQLite store durable: WAL and fsync on every commit',
    async () => {
      db = await createTestDb(dialect);
      const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(db.kysely);
      expect(mode.rows[0]?.journal_mode).toBe('wal');
      const sync = await sql<{ synchronous: number }>`pragma synchronous`.execute(db.kysely);
      expect(sync.rows[0]?.synchronous).toBe(2);
    },
  );
});
