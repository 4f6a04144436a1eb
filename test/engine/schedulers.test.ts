import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { loadHmacKey } from '../../src/audit/audit-keys.ts';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import type { Db } from '../../src/store/create-db.ts';
import { openStore } from '../../src/store/open-store.ts';
import { eventually } from '../helpers/eventually.ts';
import { freePort } from '../helpers/free-port.ts';
import { PG_URL } from '../helpers/test-db.ts';

const BIN = resolve(import.meta.dirname, '../../bin/airclutch.js');

const FILES = {
  'dags/every.ts': `
import { dag } from 'airclutch';
const d = dag({ id: 'every', schedule: '* * * * * *', catchup: true });
d.task('t', () => 1);
export default d;
`,
  'policies/schedule.cedar': `
@reason("the scheduler starts scheduled runs")
permit (principal == Service::"scheduler", action == Action::"trigger", resource)
when { context.source == "schedule" };
`,
};

/** A project on its own PostgreSQL database, migrated, with its audit key made before any scheduler starts. */
async function project() {
  const database = `sched_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create database ${database}`);
  await admin.end();
  const url = new URL(PG_URL);
  url.pathname = `/${database}`;
  const dir = mkdtempSync(join(tmpdir(), 'airclutch-schedulers-'));
  const files: Record<string, string> = {
    ...FILES,
    'airclutch.config.yaml': `dataDir: data\ndatabaseUrl: ${url.href}\nidentity:\n  devIdp:\n    port: ${await freePort()}\nenvironments:\n  dev:\n    dags: [dags]\n    policies: [policies]\n`,
  };
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  const configPath = join(dir, 'airclutch.config.yaml');
  const config = await loadConfig({ path: configPath });
  loadHmacKey(config);
  const db = await openStore(config);
  return {
    dir,
    db,
    configPath,
    async close() {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`drop database if exists ${database} with (force)`);
      await c.end();
    },
  };
}

function startScheduler(configPath: string, cwd: string): ChildProcess {
  return spawn(process.execPath, [BIN, '-c', configPath, 'scheduler'], {
    cwd,
    env: { ...process.env, AIRCLUTCH_TOKEN: '' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function everyRuns(db: Db) {
  const rows = await db.kysely
    .selectFrom('runs')
    .select(['id', 'logical_date', 'decision_seq', 'requested_by'])
    .where('dag_id', '=', 'every')
    .orderBy('logical_date')
    .execute();
  return rows.map((r) => ({ ...r, logical_date: Number(r.logical_date) }));
}

describe('several scheduler processes on one PostgreSQL', { timeout: 180_000 }, () => {
  let p: Awaited<ReturnType<typeof project>> | undefined;
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(
      children.map((c) =>
        c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : null,
      ),
    );
    children.length = 0;
    await p?.close();
    p = undefined;
  });

  it('creates each cron run exactly once, without a gap across a kill -9, and the audit chain verifies', async () => {
    p = await project();
    for (let i = 0; i < 3; i++) children.push(startScheduler(p.configPath, p.dir));
    const db = p.db;
    // Three schedulers racing on every one-second tick.
    const before = await eventually(
      () => everyRuns(db),
      (r) => r.length >= 4,
      { timeoutMs: 90_000, everyMs: 100 },
    );
    children[0]!.kill('SIGKILL');
    await new Promise((r) => children[0]!.once('exit', r));
    await eventually(
      () => everyRuns(db),
      (r) => r.length >= before.length + 4,
      { timeoutMs: 60_000, everyMs: 100 },
    );
    for (const c of children.slice(1)) c.kill('SIGTERM');
    await Promise.all(
      children.slice(1).map((c) => new Promise((r) => (c.exitCode === null ? c.once('exit', r) : r(null)))),
    );
    expect(children.slice(1).map((c) => c.exitCode)).toEqual([0, 0]);

    const runs = await everyRuns(db);
    const ticks = runs.map((r) => r.logical_date);
    expect(new Set(ticks).size).toBe(ticks.length);
    // Contiguous: every second from the first tick to the last has its run.
    expect(ticks.every((t, i) => i === 0 || t - ticks[i - 1]! === 1_000)).toBe(true);
    expect(runs.every((r) => r.requested_by === 'scheduler' && r.decision_seq !== null)).toBe(true);
    // The losers of each race wrote nothing: one decision record per run, each naming its run.
    const decisions = await db.kysely
      .selectFrom('audit_records')
      .select(['run_id'])
      .where('dag_id', '=', 'every')
      .where('action', '=', 'trigger')
      .execute();
    expect(decisions.map((d) => d.run_id).sort()).toEqual(runs.map((r) => r.id).sort());
    const verified = await verifyChain(db);
    expect(verified).toMatchObject({ ok: true });
  });
});
