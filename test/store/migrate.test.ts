import { Migrator, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { isUniqueViolation } from '../../src/store/is-unique-violation.ts';
import { allMigrations, migrateToLatest } from '../../src/store/migrate.ts';
import { runRow } from '../helpers/run-row.ts';
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

  it('refuses a second run with the same schedule key, and indexes only runs that have one', async () => {
    db = await createTestDb(dialect);
    const runs = db.kysely.insertInto('runs');
    await runs.values(runRow({ id: 'cron-1', schedule_key: 'cron:2026-11-29T00:00Z' })).execute();
    const again = runs.values(runRow({ id: 'cron-2', schedule_key: 'cron:2026-11-29T00:00Z' })).execute();
    await expect(
      again.then(
        () => null,
        (e: unknown) => isUniqueViolation(e),
      ),
    ).resolves.toBe(true);
    for (const id of ['manual-1', 'manual-2']) await runs.values(runRow({ id })).execute();
    const plan =
      dialect === 'postgres'
        ? await sql<{
            d: string;
          }>`select indexdef as d from pg_indexes where indexname = 'runs_schedule_key_uq' and schemaname = current_schema()`.execute(
            db.kysely,
          )
        : await sql<{
            d: string;
          }>`select sql as d from sqlite_master where name = 'runs_schedule_key_uq'`.execute(db.kysely);
    expect(plan.rows[0]?.d.toLowerCase()).toMatch(/where \(?"?schedule_key"? is not null\)?/);
  });

  it('keeps approval requests and their votes through 0008, which lets a request be for a DAG action instead of a run', async () => {
    db = await createTestDb(dialect, { migrate: false });
    const schema =
      dialect === 'postgres'
        ? (await sql<{ s: string }>`select current_schema() as s`.execute(db.kysely)).rows[0]?.s
        : undefined;
    const before = Object.fromEntries(
      Object.entries(allMigrations(dialect)).filter(([name]) => name < '0008'),
    );
    const old = new Migrator({
      db: db.kysely,
      ...(schema ? { migrationTableSchema: schema } : {}),
      provider: { getMigrations: async () => before },
      migrationTableName: 'airclutch_migrations',
      migrationLockTableName: 'airclutch_migrations_lock',
    });
    expect((await old.migrateToLatest()).error).toBeUndefined();
    const k = db.kysely as any;
    await k
      .insertInto('runs')
      .values({
        id: 'run-1',
        env: 'prod',
        dag_id: 'd',
        dag_version: 'v1',
        state: 'awaiting_approval',
        params: '{}',
        params_hash: 'h1',
        source: 'api',
        requested_by_kind: 'user',
        requested_by: 'eng@example.com',
        break_glass: 0,
        created_at: 1,
      })
      .execute();
    await k
      .insertInto('approval_requests')
      .values({
        id: 'a-1',
        kind: 'approval',
        run_id: 'run-1',
        env: 'prod',
        dag_id: 'd',
        dag_version: 'v1',
        params_hash: 'h1',
        requested_by_kind: 'user',
        requested_by: 'eng@example.com',
        quorum: 2,
        state: 'pending',
        created_at: 1,
      })
      .execute();
    await k
      .insertInto('approval_votes')
      .values({
        request_id: 'a-1',
        voter_kind: 'user',
        voter: 'lead@example.com',
        vote: 'approve',
        params_hash: 'h1',
        dag_version: 'v1',
        created_at: 2,
      })
      .execute();

    expect((await migrateToLatest(db))[0]).toBe('0008-dag-action-approvals');
    const kept = await db.kysely.selectFrom('approval_requests').selectAll().execute();
    expect(kept).toMatchObject([{ id: 'a-1', run_id: 'run-1', action: null, quorum: 2, state: 'pending' }]);
    const votes = await db.kysely.selectFrom('approval_votes').selectAll().execute();
    expect(votes).toMatchObject([{ request_id: 'a-1', voter: 'lead@example.com', vote: 'approve' }]);
    // A DAG action's request: no run.
    await db.kysely
      .insertInto('approval_requests')
      .values({ ...kept[0]!, id: 'a-2', run_id: null, action: 'unpause' })
      .execute();
    // The votes still belong to their request: deleting the run cascades to both.
    await db.kysely.deleteFrom('runs').where('id', '=', 'run-1').execute();
    expect((await db.kysely.selectFrom('approval_requests').select('id').execute()).map((r) => r.id)).toEqual(
      ['a-2'],
    );
    expect(await db.kysely.selectFrom('approval_votes').selectAll().execute()).toEqual([]);
  });

  it('marks unpause requests approved before 0011 as failed deliveries, since they were never retried', async () => {
    db = await createTestDb(dialect, { migrate: false });
    const schema =
      dialect === 'postgres'
        ? (await sql<{ s: string }>`select current_schema() as s`.execute(db.kysely)).rows[0]?.s
        : undefined;
    const before = Object.fromEntries(
      Object.entries(allMigrations(dialect)).filter(([name]) => name < '0011'),
    );
    const old = new Migrator({
      db: db.kysely,
      ...(schema ? { migrationTableSchema: schema } : {}),
      provider: { getMigrations: async () => before },
      migrationTableName: 'airclutch_migrations',
      migrationLockTableName: 'airclutch_migrations_lock',
    });
    // Kysely reads every schema's tables first; another test file dropping its schema meanwhile fails
    // that read before anything is applied (as migrateToLatest allows for), so it is tried again.
    let first = await old.migrateToLatest();
    for (let i = 0; i < 5 && first.results === undefined && first.error; i++)
      first = await old.migrateToLatest();
    expect(first.error).toBeUndefined();
    const request = {
      kind: 'approval',
      run_id: null,
      action: 'unpause',
      env: 'prod',
      dag_id: 'd',
      dag_version: 'v1',
      params_hash: 'h1',
      requested_by_kind: 'user',
      requested_by: 'eng@example.com',
      quorum: 1,
      created_at: 1,
    };
    await (db.kysely as any)
      .insertInto('approval_requests')
      .values([
        { ...request, id: 'approved-1', state: 'approved', decided_at: 5 },
        { ...request, id: 'pending-1', state: 'pending' },
      ])
      .execute();
    expect(await migrateToLatest(db)).toContain('0011-dag-action-deliveries');
    const rows = await db.kysely.selectFrom('dag_action_deliveries').selectAll().execute();
    expect(rows).toMatchObject([
      {
        approval_id: 'approved-1',
        action: 'unpause',
        state: 'failed',
        last_error: 'approved before deliveries were retried; see the audit trail',
      },
    ]);
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
