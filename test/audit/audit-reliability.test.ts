import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { SqlAuditLog } from '../../src/audit/sql-audit-log.ts';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { createDb } from '../../src/store/create-db.ts';
import { createTestDb, DIALECTS, type TestDb } from '../helpers/test-db.ts';

const children = new Set<ChildProcess>();

/** Starts a writer process; `acks` fills as it prints acknowledged seqs. */
function writer(db: TestDb, count: number, inFlight: number, name: string) {
  const child = spawn(
    process.execPath,
    [
      'bin/run-ts.js',
      'test/audit/fixtures/append-burst.ts',
      db.url,
      db.schema ?? '-',
      String(count),
      String(inFlight),
      name,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.add(child);
  const acks: number[] = [];
  const listeners: (() => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line.startsWith('ack ')) acks.push(Number(line.slice(4)));
    for (const l of listeners) l();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code, signal) => {
      children.delete(child);
      resolve(signal ? null : code);
    }),
  );
  const ackedAtLeast = (n: number) =>
    new Promise<void>((resolve) => {
      const check = () => acks.length >= n && resolve();
      listeners.push(check);
      check();
    });
  return { child, acks, exited, ackedAtLeast };
}

describe.each(DIALECTS)('many writers on %s', (dialect) => {
  let db: TestDb | undefined;
  afterEach(async () => {
    for (const c of children) c.kill('SIGKILL');
    await db?.close();
    db = undefined;
  });

  it('keeps one unbroken chain when 8 processes append 1,000 records each', {
    timeout: 180_000,
  }, async () => {
    db = await createTestDb(dialect);
    const writers = Array.from({ length: 8 }, (_, i) => writer(db!, 1_000, 16, String(i)));
    expect(await Promise.all(writers.map((w) => w.exited))).toEqual(Array(8).fill(0));
    const acked = writers.flatMap((w) => w.acks).sort((a, b) => a - b);
    expect(acked).toEqual(Array.from({ length: 8_000 }, (_, i) => i + 1));
    expect(await verifyChain(db)).toMatchObject({ ok: true, records: 8_000, lastSeq: 8_000 });
  });

  // better-sqlite3 is synchronous: a second connection in the same thread would block on the lock
  // the first holds while awaiting. SQLite's writers are separate processes (the test above).
  it.runIf(dialect === 'postgres')(
    'keeps one chain across separate connection pools in one process',
    { timeout: 120_000 },
    async () => {
      db = await createTestDb(dialect);
      const pools = Array.from({ length: 8 }, () =>
        createDb({ url: db!.url, ...(db!.schema ? { schema: db!.schema } : {}), poolSize: 2 }),
      );
      try {
        await Promise.all(
          pools.map(async (pool, w) => {
            const audit = new SqlAuditLog(pool);
            await Promise.all(
              Array.from({ length: 10 }, async (_, lane) => {
                for (let i = 0; i < 100; i++)
                  await audit.append([{ action: 'run.state', details: { w, lane, i } }]);
              }),
            );
            await audit.close();
          }),
        );
      } finally {
        await Promise.all(pools.map((p) => p.close()));
      }
      expect(await verifyChain(db)).toMatchObject({ ok: true, records: 8_000 });
    },
  );

  it('keeps every acknowledged append and a verifiable chain when a writer is killed with SIGKILL mid-burst', {
    timeout: 120_000,
  }, async () => {
    db = await createTestDb(dialect);
    const victim = writer(db, 100_000, 32, 'victim');
    const bystander = writer(db, 100_000, 8, 'bystander');
    await Promise.all([victim.ackedAtLeast(500), bystander.ackedAtLeast(200)]);
    victim.child.kill('SIGKILL');
    bystander.child.kill('SIGKILL');
    await Promise.all([victim.exited, bystander.exited]);
    const result = await verifyChain(db);
    expect(result.ok).toBe(true);
    const stored = new Set(
      (await db.kysely.selectFrom('audit_records').select('seq').execute()).map((r) => Number(r.seq)),
    );
    const acked = [...victim.acks, ...bystander.acks];
    expect(acked.length).toBeGreaterThanOrEqual(700);
    expect(acked.filter((s) => !stored.has(s))).toEqual([]);
    // Nothing was lost in the middle either: the stored seqs are exactly 1..head.
    expect(stored.size).toBe(result.lastSeq);
  });
});
