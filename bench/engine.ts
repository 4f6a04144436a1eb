/**
 * Engine benchmarks (issue 2): Windmill's 40-task chain, task-to-task transition latency, overhead on
 * long tasks, and a 10,000-task fan-out with its peak memory. Durable state: SQLite in WAL with
 * fsync on every commit, or PostgreSQL.
 */
import { performance } from 'node:perf_hooks';
import { dag } from '../src/dag/dag.ts';
import { Engine } from '../src/engine/engine.ts';
import { StaticDagSource } from '../src/engine/static-dag-source.ts';
import { servicePrincipal } from '../src/identity/principal.ts';
import type { DialectName } from '../src/store/create-db.ts';
import { type DecidedRuns, decidedRuns } from '../test/helpers/decided-runs.ts';
import { createTestDb } from '../test/helpers/test-db.ts';
import { median, round } from './stats.ts';

function fib(n: number): number {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

/** Each engine's runs are created as the gate creates them: with a decision record. */
const runsOf = new WeakMap<Engine, DecidedRuns>();

const marks: { end: number[]; start: number[]; compute: number } = { end: [], start: [], compute: 0 };

function chainDag(id: string, length: number, n: number) {
  const d = dag({ id });
  let prev: { taskId: string } | undefined;
  for (let i = 0; i < length; i++) {
    prev = d.task(`t${i}`, prev ? { after: [prev] } : {}, () => {
      const t0 = performance.now();
      marks.start[i] = t0;
      const value = fib(n);
      const t1 = performance.now();
      marks.compute += t1 - t0;
      marks.end[i] = t1;
      return value;
    });
  }
  return d;
}

function fanoutDag(width: number) {
  const d = dag({ id: 'fanout' });
  for (let i = 0; i < width; i++) d.task(`t${i}`, () => undefined);
  return d;
}

async function timeRun(engine: Engine, dagId: string): Promise<number> {
  const t0 = performance.now();
  const run = await runsOf.get(engine)!.trigger({
    env: 'dev',
    dagId,
    source: 'api',
    principal: servicePrincipal('bench'),
  });
  const state = await engine.waitForRun(run.id);
  if (state !== 'success') throw new Error(`bench run ${dagId} ended ${state}`);
  return performance.now() - t0;
}

export async function benchEngine(dialect: DialectName): Promise<Record<string, number>> {
  const suffix = dialect === 'postgres' ? '_pg' : '';
  const dags = [chainDag('chain40', 40, 10), chainDag('long10', 10, 33), fanoutDag(10_000)];
  const db = await createTestDb(dialect);
  const engine = new Engine({ db, dags: new StaticDagSource(dags), concurrency: 64, pollIntervalMs: 1_000 });
  runsOf.set(engine, decidedRuns(db, engine));
  await engine.start();
  try {
    // Warm-up: the first runs pay for JIT compilation and statement preparation.
    for (let i = 0; i < 3; i++) await timeRun(engine, 'chain40');
    const chain: number[] = [];
    const transitions: number[] = [];
    for (let i = 0; i < (process.env.AIRCLUTCH_BENCH_ONLY === 'chain' ? 30 : 15); i++) {
      marks.start = [];
      marks.end = [];
      chain.push(await timeRun(engine, 'chain40'));
      for (let t = 1; t < 40; t++) transitions.push(marks.start[t]! - marks.end[t - 1]!);
    }
    if (process.env.AIRCLUTCH_BENCH_ONLY === 'chain') {
      return {
        [`chain40_s${suffix}`]: round(median(chain) / 1000, 4),
        [`transition_p50_ms${suffix}`]: round(median(transitions), 3),
      };
    }
    const overheads: number[] = [];
    for (let i = 0; i < 3; i++) {
      marks.compute = 0;
      const total = await timeRun(engine, 'long10');
      overheads.push(((total - marks.compute) / marks.compute) * 100);
    }
    let peak = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 10);
    const fanout: number[] = [];
    for (let i = 0; i < 3; i++) fanout.push(10_000 / ((await timeRun(engine, 'fanout')) / 1000));
    clearInterval(sampler);
    return {
      [`chain40_s${suffix}`]: round(median(chain) / 1000, 4),
      [`transition_p50_ms${suffix}`]: round(median(transitions), 3),
      [`long10_overhead_pct${suffix}`]: round(median(overheads), 2),
      [`fanout10k_tasks_per_s${suffix}`]: Math.round(median(fanout)),
      [`rss_mb_peak${suffix}`]: round(peak / 1024 / 1024, 1),
    };
  } finally {
    await engine.stop(1_000);
    await db.close();
  }
}
