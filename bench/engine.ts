/**
 * Engine benchmarks on the path users run: Windmill's 40-task chain, task-to-task transition
 * latency, overhead on long tasks, and a 10,000-task fan-out with this process's peak memory. Each
 * run is started through the gate by a principal verified from an RS256 access token, the policy
 * allows it, and every run and task transition writes its hash-chained audit records in the
 * engine cycle's transaction (on PostgreSQL under the `audit_head` lock), as `createAirclutch`
 * wires it. Durable state: SQLite in WAL with `synchronous=FULL`, or PostgreSQL.
 *
 * `node bin/run-ts.js bench/engine.ts sqlite|postgres [--json]`; `bench/run.ts` runs each store in
 * its own process, so `rss_mb_peak` is this store's alone.
 * @module
 */
import { performance } from 'node:perf_hooks';
import type { Principal } from '../src/identity/principal.ts';
import type { DialectName } from '../src/store/create-db.ts';
import { type BenchWorld, createBenchWorld, startBenchIssuer } from './bench-world.ts';
import { runIfMain } from './main.ts';
import { median, round } from './stats.ts';

interface Marks {
  start: number[];
  end: number[];
}

// The DAG files' function tasks run in task threads; they report when each task's code starts and
// ends (absolute times: performance.timeOrigin + now) on this BroadcastChannel. A task posts inside
// its own time, right after it starts: its start, and the end of the task before it, which that
// task returned as its output. So the gap between two tasks holds no work of the bench's (a post
// after a task's end mark cost that gap ~18 µs). The last task posts its own end after it.
const marks: Marks = { start: [], end: [] };
const channel = new BroadcastChannel('airclutch-bench-marks');
let received = 0;
channel.onmessage = (e: MessageEvent) => {
  const { i, t0, prevEnd } = e.data as { i: number; t0: number | null; prevEnd: number | null };
  if (t0 !== null) marks.start[i] = t0;
  if (prevEnd !== null) marks.end[i - 1] = prevEnd;
  received++;
};
const resetMarks = () => {
  marks.start = [];
  marks.end = [];
  received = 0;
};
/** Time spent in the tasks' code, once every mark of the run is in. */
const computeOf = (n: number) => {
  let ms = 0;
  for (let t = 0; t < n; t++) ms += marks.end[t]! - marks.start[t]!;
  return ms;
};

const chainFile = (id: string, length: number, n: number) => `
import { dag } from 'airclutch';
const channel = new BroadcastChannel('airclutch-bench-marks');
channel.unref?.();
function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
const now = () => performance.timeOrigin + performance.now();
let sink = 0;
const d = dag({ id: '${id}', maxActiveRuns: 1000 });
let prev;
for (let i = 0; i < ${length}; i++) {
  const up = prev;
  prev = d.task('t' + i, up ? { after: [up] } : {}, (ctx) => {
    channel.postMessage({ i, t0: now(), prevEnd: up ? ctx.upstream(up) : null });
    sink ^= fib(${n});
    const end = now();
    if (i === ${length - 1}) channel.postMessage({ i: ${length}, t0: null, prevEnd: end });
    return end;
  });
}
export default d;
`;

/** A run's `n` marks (one per task, and the last task's end) arrive on their own channel: wait for the last. */
async function marksOf(n: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (received < n && Date.now() < deadline) await new Promise((r) => setImmediate(r));
}

const FILES = {
  'dags/chain40.ts': chainFile('chain40', 40, 10),
  'dags/long10.ts': chainFile('long10', 10, 33),
  'dags/chain1000.ts': chainFile('chain1000', 1000, 10),
  'dags/fanout.ts': `
import { dag } from 'airclutch';
const d = dag({ id: 'fanout' });
for (let i = 0; i < 10000; i++) d.task('t' + i, () => undefined);
export default d;
`,
  'dags/fanin.ts': `
import { dag } from 'airclutch';
const d = dag({ id: 'fanin' });
const all = [];
for (let i = 0; i < 10000; i++) all.push(d.task('t' + i, () => undefined));
d.task('join', { after: all }, () => 'joined');
export default d;
`,
  'policies/roles.cedar': `
@reason("engineers run DAGs in dev")
permit (principal in Group::"data-eng", action in Action::"operate", resource in Env::"dev");
`,
};

// concurrency 64: a setting a user makes for short tasks (the default is 32).
const CONFIG = 'engine:\n  concurrency: 64\n';

async function timeRun(world: BenchWorld, principal: Principal, dagId: string): Promise<number> {
  const t0 = performance.now();
  const res = await world.gate.trigger(
    { principal, source: 'api', requestId: `bench-${dagId}-${t0}` },
    { dagId, params: {} },
  );
  if (res.outcome !== 'started') throw new Error(`bench run of ${dagId} was not started: ${res.outcome}`);
  const state = await world.engine.waitForRun(res.run.id);
  if (state !== 'success') throw new Error(`bench run ${dagId} ended ${state}`);
  return performance.now() - t0;
}

export async function benchEngine(dialect: DialectName, only?: string): Promise<Record<string, number>> {
  const suffix = dialect === 'postgres' ? '_pg' : '';
  const issuer = await startBenchIssuer();
  const world = await createBenchWorld(dialect, FILES, CONFIG);
  try {
    const token = await issuer.token('eng@example.com', ['data-eng']);
    await world.engine.start();
    // The principal is verified for every run, as a caller's token is (a cache hit after the first).
    const run = async (dagId: string) =>
      timeRun(world, await issuer.verifier.verify(token, { action: 'trigger' }), dagId);
    // Warm-up: the first runs pay for JIT compilation and statement preparation.
    for (let i = 0; i < 3; i++) await run('chain40');
    const chain: number[] = [];
    const transitions: number[] = [];
    for (let i = 0; i < (only === 'chain' ? 30 : 15); i++) {
      resetMarks();
      chain.push(await run('chain40'));
      await marksOf(41);
      for (let t = 1; t < 40; t++) transitions.push(marks.start[t]! - marks.end[t - 1]!);
    }
    const figures: Record<string, number> = {
      [`chain40_s${suffix}`]: round(median(chain) / 1000, 4),
      [`transition_p50_ms${suffix}`]: round(median(transitions), 3),
    };
    if (only === 'chain') return figures;
    // A deep chain: the step at depth 1,000 should cost what a step of chain40 does (each task is
    // handed all its ancestors' outputs, so a per-step cost that grows with depth shows here).
    resetMarks();
    await run('chain1000');
    await marksOf(1001);
    const deep: number[] = [];
    for (let t = 900; t < 1000; t++) deep.push(marks.start[t]! - marks.end[t - 1]!);
    figures[`chain1000_transition_p50_ms${suffix}`] = round(median(deep), 3);
    const overheads: number[] = [];
    for (let i = 0; i < 3; i++) {
      resetMarks();
      const total = await run('long10');
      await marksOf(11);
      const compute = computeOf(10);
      overheads.push(((total - compute) / compute) * 100);
    }
    // rss counts the task threads too: they share this process.
    let peak = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 10);
    const fanout: number[] = [];
    try {
      for (let i = 0; i < 3; i++) fanout.push(10_000 / ((await run('fanout')) / 1000));
    } finally {
      clearInterval(sampler);
    }
    // The same fan-out with one task after all 10,000 (outside the peak: it is not the figure's
    // fan-out): each of them moves the join's tally.
    const fanin = 10_001 / ((await run('fanin')) / 1000);
    return {
      ...figures,
      [`long10_overhead_pct${suffix}`]: round(median(overheads), 2),
      [`fanout10k_tasks_per_s${suffix}`]: Math.round(median(fanout)),
      [`fanin10k_tasks_per_s${suffix}`]: Math.round(fanin),
      [`rss_mb_peak${suffix}`]: round(peak / 1024 / 1024, 1),
    };
  } finally {
    channel.close();
    await world.dispose();
    await issuer.close();
  }
}

await runIfMain(import.meta, ([dialect = 'sqlite', only]) => benchEngine(dialect as DialectName, only));
