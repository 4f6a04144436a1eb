import { CompiledQuery, Kysely, Migrator, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { completeAttempts } from '../../src/engine/sql/complete-attempt.ts';
import { findInterrupted } from '../../src/engine/sql/recover-interrupted.ts';
import { renewLeases } from '../../src/engine/sql/renew-leases.ts';
import type { Database } from '../../src/store/database.ts';
import { isUniqueViolation } from '../../src/store/is-unique-violation.ts';
import { allMigrations, migrateToLatest } from '../../src/store/migrate.ts';
import { createSqliteDialect, PAGE_CACHE_KIB } from '../../src/store/sqlite-dialect.ts';
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

  it('indexes only running attempts by worker, and no longer indexes audit records by actor', async () => {
    db = await createTestDb(dialect);
    const defs =
      dialect === 'postgres'
        ? await sql<{ n: string; d: string }>`select indexname as n, indexdef as d from pg_indexes
            where tablename in ('attempts', 'audit_records') and schemaname = current_schema()`.execute(
            db.kysely,
          )
        : await sql<{ n: string; d: string }>`select name as n, sql as d from sqlite_master
            where type = 'index' and tbl_name in ('attempts', 'audit_records')`.execute(db.kysely);
    const byName = new Map(defs.rows.map((r) => [r.n, r.d ?? '']));
    expect(byName.get('attempts_running_idx')?.toLowerCase()).toMatch(
      /\(\s*"?worker_id"?\s*\).*where.*state"?\)? = 'running'/,
    );
    expect(byName.has('attempts_state_idx')).toBe(false);
    expect(byName.has('audit_records_actor_idx')).toBe(false);
  });

  it.runIf(dialect === 'sqlite')(
    "ends attempts by id through the primary key, and finds a worker's running ones through the partial index",
    async () => {
      db = await createTestDb(dialect);
      // A second connection to the same file that logs the statements the executor's functions send.
      const sent: CompiledQuery[] = [];
      const k = new Kysely<Database>({
        dialect: createSqliteDialect(db.url).dialect,
        log: (e) => {
          if (e.level === 'query') sent.push(e.query);
        },
      });
      try {
        await k
          .insertInto('runs')
          .values(runRow({ id: 'r1' }))
          .execute();
        // 60 tasks, each with one try: 50 ended, 10 running on worker w1.
        const tries = Array.from({ length: 60 }, (_, n) => ({
          run_id: 'r1',
          task_id: `t${n}`,
          try_number: 1,
          state: n < 50 ? ('success' as const) : ('running' as const),
        }));
        await k
          .insertInto('task_instances')
          .values(tries.map((t) => ({ ...t, max_tries: 1, updated_at: 1 })))
          .execute();
        await k
          .insertInto('attempts')
          .values(tries.map((t) => ({ ...t, started_at: 1, worker_id: 'w1', heartbeat_at: 1 })))
          .execute();
        const running = await k.selectFrom('attempts').select('id').where('state', '=', 'running').execute();
        expect(running).toHaveLength(10);
        sent.length = 0;
        const done = await completeAttempts(
          k,
          [
            {
              attemptId: Number(running[0]!.id),
              runId: 'r1',
              taskId: 't50',
              attemptState: 'success',
              taskState: 'success',
              error: null,
              exitCode: null,
              outputJson: null,
              nextTryAt: null,
            },
          ],
          2,
        );
        expect(done.size).toBe(1);
        const endSql = sent.find((q) => q.sql.startsWith('update attempts'))!;
        sent.length = 0;
        expect(await renewLeases(k, 'w1', 3, 1_000)).toHaveLength(9);
        const renewSql = sent.find((q) => q.sql.startsWith('update "attempts"'))!;
        sent.length = 0;
        expect(await findInterrupted(k, 'w2', 10_000)).toHaveLength(9);
        const findSql = sent.find((q) => q.sql.startsWith('select'))!;
        const plan = async (q: CompiledQuery) => {
          const explained = CompiledQuery.raw(`explain query plan ${q.sql}`, [...q.parameters]);
          const { rows } = await db!.kysely.executeQuery<{ detail: string }>(explained);
          return rows.map((r) => r.detail).join(' | ');
        };
        expect(await plan(endSql)).toMatch(/SEARCH attempts USING INTEGER PRIMARY KEY/);
        expect(await plan(renewSql)).toMatch(/attempts_running_idx/);
        expect(await plan(findSql)).toMatch(/attempts_running_idx/);
      } finally {
        await k.destroy();
      }
    },
  );

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

  it.runIf(dialect === 'sqlite')(
    "gives the SQLite store a 4 MB page cache, not the driver's 16 MB",
    async () => {
      db = await createTestDb(dialect);
      const cache = await sql<{ cache_size: number }>`pragma cache_size`.execute(db.kysely);
      expect(cache.rows[0]?.cache_size).toBe(-PAGE_CACHE_KIB);
    },
  );
});
