/**
 * The peer on the same PostgreSQL: graphile-worker (a well-tuned PostgreSQL job queue) runs the
 * same work as `bench/engine.ts` does on PostgreSQL: a chain of 40 steps, each job queueing the
 * next when it ends (`chain40_s_graphile`), and 10,000 independent jobs added in one call
 * (`fanout10k_jobs_per_s_graphile`). It runs in its own schema, dropped after. `bench/ratios.ts`
 * sets Airclutch's figures against these (`chain40_pg_vs_graphile`, `fanout10k_pg_vs_graphile`).
 * Configuration: concurrency 64 (as the engine bench), a local queue of 500 jobs fetched in
 * batches, completions batched for 1 ms, LISTEN/NOTIFY for new jobs (its defaults otherwise).
 * @module
 */
import { performance } from 'node:perf_hooks';
import { Logger, makeWorkerUtils, type Runner, run, type WorkerUtils } from 'graphile-worker';
import pg from 'pg';
import { PG_URL } from '../test/helpers/test-db.ts';
import { runIfMain } from './main.ts';
import { median, round } from './stats.ts';

type Waiter = { left: number; done: () => void };

// Its per-job INFO lines would cost it time and flood the output: only warnings and errors, to stderr.
const logger = new Logger(() => (level, message) => {
  if (level === 'error' || level === 'warning') process.stderr.write(`graphile-worker: ${message}\n`);
});

export async function benchGraphile(): Promise<Record<string, number>> {
  const schema = `gw_bench_${process.pid}`;
  let waiter: Waiter | null = null;
  const tick = () => {
    if (waiter && --waiter.left === 0) waiter.done();
  };
  const until = (left: number) => new Promise<void>((done) => (waiter = { left, done }));
  let runner: Runner | undefined;
  let utils: WorkerUtils | undefined;
  try {
    runner = await run({
      connectionString: PG_URL,
      schema,
      concurrency: 64,
      maxPoolSize: 20,
      noHandleSignals: true,
      logger,
      pollInterval: 1_000,
      preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 1 } },
      taskList: {
        step: async (payload, helpers) => {
          const { i } = payload as { i: number };
          if (i < 39) await helpers.addJob('step', { i: i + 1 });
          tick();
        },
        fan: async () => tick(),
      },
    });
    const r = runner;
    utils = await makeWorkerUtils({ connectionString: PG_URL, schema, logger });
    const u = utils;
    const chain = async () => {
      const t0 = performance.now();
      const done = until(40);
      await r.addJob('step', { i: 0 });
      await done;
      return performance.now() - t0;
    };
    const fanout = async () => {
      const t0 = performance.now();
      const done = until(10_000);
      await u.addJobs(Array.from({ length: 10_000 }, (_, i) => ({ identifier: 'fan', payload: { i } })));
      await done;
      return 10_000 / ((performance.now() - t0) / 1000);
    };
    for (let i = 0; i < 3; i++) await chain();
    const chains: number[] = [];
    for (let i = 0; i < 15; i++) chains.push(await chain());
    const fans: number[] = [];
    for (let i = 0; i < 3; i++) fans.push(await fanout());
    return {
      chain40_s_graphile: round(median(chains) / 1000, 4),
      fanout10k_jobs_per_s_graphile: Math.round(median(fans)),
    };
  } finally {
    await utils?.release();
    await runner?.stop();
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`drop schema if exists ${schema} cascade`);
    await c.end();
  }
}

await runIfMain(import.meta, () => benchGraphile());
