import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.ts';
import { servicePrincipal } from '../../src/identity/principal.ts';
import { crashSource } from '../fixtures/engine-child.ts';
import { decidedRuns } from '../helpers/decided-runs.ts';
import { createTestDb, DIALECTS, type TestDb } from '../helpers/test-db.ts';

function startChild(
  db: TestDb,
  graceMs = 30_000,
): { child: ChildProcess; waitFor(line: string): Promise<void> } {
  const child = spawn(
    process.execPath,
    ['bin/run-ts.js', 'test/fixtures/engine-child.ts', db.url, db.schema ?? '-', String(graceMs)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  const waiters: Array<{ line: string; resolve: () => void }> = [];
  child.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
    for (const w of [...waiters]) if (out.includes(w.line)) w.resolve();
  });
  return {
    child,
    waitFor: (line) =>
      new Promise((resolve) => {
        if (out.includes(line)) resolve();
        else waiters.push({ line, resolve });
      }),
  };
}

/** Queues a run of the crash DAG without starting an engine in this process. */
async function queueCrashyRun(db: TestDb) {
  const seed = new Engine({ db, dags: crashSource() });
  return decidedRuns(db, seed).trigger({
    env: 'dev',
    dagId: 'crashy',
    source: 'cli',
    principal: servicePrincipal('test'),
  });
}

describe.each(DIALECTS)('crash recovery on %s', (dialect) => {
  let db: TestDb | undefined;
  let engine: Engine | undefined;
  let child: ChildProcess | undefined;
  afterEach(async () => {
    child?.kill('SIGKILL');
    await engine?.stop(1_000);
    await db?.close();
    engine = undefined;
    db = undefined;
  });

  it('after kill -9 mid-run, the next start fails the interrupted attempt, retries it and finishes the run', async () => {
    db = await createTestDb(dialect);
    const c = startChild(db);
    child = c.child;
    await c.waitFor('ready');
    const run = await queueCrashyRun(db);
    await c.waitFor('attempt slow 1');
    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));

    engine = new Engine({ db, dags: crashSource(), pollIntervalMs: 50 });
    await engine.start();
    expect(await engine.waitForRun(run.id)).toBe('success');
    const attempts = await db.kysely
      .selectFrom('attempts')
      .selectAll()
      .where('run_id', '=', run.id)
      .orderBy('id')
      .execute();
    expect(attempts.map((a) => [a.task_id, a.try_number, a.state])).toEqual([
      ['first', 1, 'success'],
      ['slow', 1, 'failed'],
      ['slow', 2, 'success'],
      ['last', 1, 'success'],
    ]);
    expect(attempts[1]!.error).toBe('crashed: the process running this attempt stopped before it finished');
    const last = await db.kysely
      .selectFrom('task_instances')
      .select('output')
      .where('run_id', '=', run.id)
      .where('task_id', '=', 'last')
      .executeTakeFirstOrThrow();
    expect(JSON.parse(last.output!)).toBe('one+two');
  });

  it('on SIGTERM, aborts attempts that outlive the grace period and the next start retries them', async () => {
    db = await createTestDb(dialect);
    const c = startChild(db, 200);
    child = c.child;
    await c.waitFor('ready');
    const run = await queueCrashyRun(db);
    await c.waitFor('attempt slow 1');
    child.kill('SIGTERM');
    await c.waitFor('stopped');
    const slow = await db.kysely
      .selectFrom('attempts')
      .selectAll()
      .where('run_id', '=', run.id)
      .where('task_id', '=', 'slow')
      .executeTakeFirstOrThrow();
    expect(slow.state).toBe('failed');
    expect(slow.error).toBe('Airclutch shut down before the attempt finished (grace 200 ms)');

    engine = new Engine({ db, dags: crashSource(), pollIntervalMs: 50 });
    await engine.start();
    expect(await engine.waitForRun(run.id)).toBe('success');
  });
});

describe.each(DIALECTS)('the engine lease on %s', (dialect) => {
  let db: TestDb | undefined;
  let child: ChildProcess | undefined;
  afterEach(async () => {
    child?.kill('SIGKILL');
    await db?.close();
    db = undefined;
  });

  it('refuses a second engine on the same store while the first one lives, so neither fails the other’s work', async () => {
    db = await createTestDb(dialect);
    const c = startChild(db);
    child = c.child;
    await c.waitFor('ready');
    const second = new Engine({ db, dags: crashSource() });
    const err = await second.start().catch((e) => e);
    expect(err.code).toBe('STATE_CONFLICT');
    expect(err.message).toContain(`another Airclutch engine (pid ${child.pid}`);
    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    const third = new Engine({ db, dags: crashSource() });
    await third.start();
    await third.stop(100);
  });
});
