import { existsSync } from 'node:fs';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import setup from '../helpers/postgres-global-setup.ts';
import { configuredPgUrl } from '../helpers/test-pg-url.ts';

const saved = { ...process.env };
afterEach(() => {
  for (const k of ['AIRCLUTCH_TEST_DATABASE_URL', 'AIRCLUTCH_TEST_PG_URL']) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

async function query(url: string, sql: string): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(sql);
  } finally {
    await c.end();
  }
}

describe('the PostgreSQL test setup', () => {
  it('starts a throwaway PostgreSQL when nothing answers at the configured URL, and removes it afterwards', async () => {
    // Port 1: nothing listens there.
    process.env.AIRCLUTCH_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:1/test';
    const stop = await setup();
    expect(stop).toBeTypeOf('function');
    const url = process.env.AIRCLUTCH_TEST_DATABASE_URL!;
    expect(url).toMatch(/^postgres:\/\/postgres:[^@]+@127\.0\.0\.1:\d+\/test$/);
    expect(url).not.toContain(':1/');
    const r = await query(url, 'select current_database() as db, version() as v');
    expect(r.rows[0].db).toBe('test');
    expect(r.rows[0].v).toMatch(/^PostgreSQL \d+/);
    const { rows } = await query(url, "select setting from pg_settings where name = 'data_directory'");
    const dataDir = rows[0].setting as string;
    await stop!();
    expect(existsSync(dataDir)).toBe(false);
    await expect(query(url, 'select 1')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  }, 120_000);

  it('uses the configured server when it answers, starting nothing', async () => {
    const before = configuredPgUrl();
    expect(await setup()).toBeUndefined();
    expect(configuredPgUrl()).toBe(before);
  });

  it('reads the older AIRCLUTCH_TEST_PG_URL when AIRCLUTCH_TEST_DATABASE_URL is not set', () => {
    expect(
      configuredPgUrl({
        AIRCLUTCH_TEST_PG_URL: 'postgres://postgres@db.example:5432/test',
      } as NodeJS.ProcessEnv),
    ).toBe('postgres://postgres@db.example:5432/test');
    expect(configuredPgUrl({} as NodeJS.ProcessEnv)).toBe('postgres://postgres@127.0.0.1:5432/test');
  });

  it('fails loudly, starting nothing, when a server answers but refuses the tests', async () => {
    const url = new URL(configuredPgUrl());
    url.pathname = '/no_such_database_for_airclutch_tests';
    process.env.AIRCLUTCH_TEST_DATABASE_URL = url.href;
    await expect(setup()).rejects.toThrow(
      /answered but refused the tests: database "no_such_database_for_airclutch_tests" does not exist/,
    );
  });
});
