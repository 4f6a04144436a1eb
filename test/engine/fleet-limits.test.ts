import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/app/create-logger.ts';
import { startAirclutch } from '../../src/app/start-airclutch.ts';
import { startWorker } from '../../src/app/start-worker.ts';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { Engine } from '../../src/engine/engine.ts';
import { fleetSource } from '../fixtures/fleet-worker-child.ts';
import { eventually } from '../helpers/eventually.ts';
import { type ChildWorker, createFleetChildren, type FleetChildren } from '../helpers/fleet-children.ts';

/** True when no two [start, end] intervals overlap. */
function serial(intervals: Array<{ started_at: number | null; ended_at: number | null }>): boolean {
  const s = intervals
    .map((i) => [Number(i.started_at), Number(i.ended_at)] as const)
    .sort((a, b) => a[0] - b[0]);
  return s.every((cur, i) => i === 0 || cur[0] >= s[i - 1]![1]);
}

describe('a fleet of workers on one PostgreSQL', () => {
  let f: FleetChildren;
  let cpu: ChildWorker;
  let cpu2: ChildWorker;
  let gpuA: ChildWorker;
  let gpuB: ChildWorker;
  beforeAll(async () => {
    f = await createFleetChildren();
    [cpu, cpu2, gpuA, gpuB] = await Promise.all([
      f.spawn({ concurrency: 4 }),
      f.spawn({ concurrency: 4 }),
      f.spawn({ concurrency: 4, queues: 'gpu', limits: 'gpu=1' }),
      f.spawn({ concurrency: 4, queues: 'gpu', limits: 'gpu=1' }),
    ]);
  }, 120_000);
  afterAll(async () => {
    expect((await verifyChain(f.db)).ok).toBe(true);
    await f.dispose();
  });

  const finished = (ids: string[]) =>
    eventually(
      () => f.db.kysely.selectFrom('runs').selectAll().where('id', 'in', ids).execute(),
      (rows) => rows.every((r) => ['success', 'failed'].includes(r.state)),
      { timeoutMs: 40_000, everyMs: 50 },
    );

  it('runs a task only on workers claiming its queue, and a queue limit holds across workers', async () => {
    const ids = [await f.trigger('pinned'), await f.trigger('pinned')];
    expect((await finished(ids)).map((r) => r.state)).toEqual(['success', 'success']);
    const attempts = await f.db.kysely
      .selectFrom('attempts')
      .selectAll()
      .where('run_id', 'in', ids)
      .execute();
    const gpu = attempts.filter((a) => a.task_id.startsWith('gpu'));
    expect(gpu).toHaveLength(6);
    expect(gpu.every((a) => a.worker_id === gpuA.id || a.worker_id === gpuB.id)).toBe(true);
    expect(
      attempts.filter((a) => a.task_id === 'cpu').every((a) => [cpu.id, cpu2.id].includes(a.worker_id)),
    ).toBe(true);
    // engine.queues.gpu.concurrency = 1: never two gpu attempts at once, whichever worker ran them.
    expect(serial(gpu)).toBe(true);
  }, 60_000);

  it("keeps a DAG's maxActiveRuns across workers", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await f.trigger('single'));
    const runs = await finished(ids);
    expect(runs.map((r) => r.state)).toEqual(['success', 'success', 'success', 'success']);
    expect(serial(runs)).toBe(true);
    const workers = await f.db.kysely
      .selectFrom('attempts')
      .select('worker_id')
      .where('run_id', 'in', ids)
      .execute();
    expect(new Set(workers.map((w) => w.worker_id)).size).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('lists live workers with their queues and load', async () => {
    const rows = await f.db.kysely.selectFrom('workers').selectAll().execute();
    expect(rows.map((r) => r.id).sort()).toEqual([cpu.id, cpu2.id, gpuA.id, gpuB.id].sort());
    expect(rows.find((r) => r.id === gpuA.id)).toMatchObject({
      queues: '["gpu"]',
      concurrency: 4,
      draining: 0,
    });
  });

  it('refuses an in-process engine on a store a fleet runs, naming a live worker', async () => {
    const engine = new Engine({ db: f.db, dags: fleetSource() });
    const err = await engine.start().catch((e) => e);
    expect(err.code).toBe('STATE_CONFLICT');
    expect(err.message).toMatch(/^fleet worker .* runs this store's tasks; .*airclutch server --no-worker/);
  });

  it('drains on SIGTERM: the running attempt is handed back without using up a try, finished elsewhere, and the worker exits 0', async () => {
    const runId = await f.trigger('long');
    const first = await eventually(
      () => f.db.kysely.selectFrom('attempts').selectAll().where('run_id', '=', runId).execute(),
      (a) => a.length === 1 && a[0]!.state === 'running',
    );
    const holder = [cpu, cpu2].find((w) => w.id === first[0]!.worker_id)!;
    holder.child.kill('SIGTERM');
    expect(await holder.exited).toBe(0);
    const attempts = await eventually(
      () =>
        f.db.kysely
          .selectFrom('attempts')
          .selectAll()
          .where('run_id', '=', runId)
          .orderBy('try_number')
          .execute(),
      (a) => a.length === 2 && a[1]!.state === 'success',
      { timeoutMs: 30_000 },
    );
    expect(attempts[0]).toMatchObject({ state: 'failed', worker_id: holder.id });
    expect(attempts[0]!.error).toMatch(/drained before the attempt finished/);
    expect(attempts[1]!.worker_id).not.toBe(holder.id);
    // The task has no retries; the handback raised max_tries so the second try could run.
    const ti = await f.db.kysely
      .selectFrom('task_instances')
      .selectAll()
      .where('run_id', '=', runId)
      .executeTakeFirst();
    expect(ti).toMatchObject({ state: 'success', try_number: 2, max_tries: 2 });
    const left = await f.db.kysely.selectFrom('workers').select('id').where('id', '=', holder.id).execute();
    expect(left).toEqual([]);
  }, 60_000);

  it('refuses server --no-worker on SQLite, where nothing else would run the tasks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airclutch-sqlite-server-'));
    try {
      writeFileSync(join(dir, 'airclutch.config.yaml'), 'environments:\n  dev:\n    dags: []\n');
      const config = await loadConfig({ cwd: dir, env: {} });
      await expect(startAirclutch(config, { log: createLogger(), worker: false })).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        message: expect.stringMatching(/--no-worker .*PostgreSQL.*drop --no-worker/),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start a worker on SQLite, saying what to configure', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airclutch-sqlite-worker-'));
    try {
      writeFileSync(join(dir, 'airclutch.config.yaml'), 'environments:\n  dev:\n    dags: []\n');
      const config = await loadConfig({ cwd: dir, env: {} });
      await expect(startWorker(config, { log: createLogger() })).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        message: expect.stringMatching(/needs a PostgreSQL store .*databaseUrl: postgres/),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
