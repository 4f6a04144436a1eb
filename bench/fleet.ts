/**
 * The fleet on PostgreSQL: real `FleetWorker` processes (this module, started with `--fleet-child`)
 * sharing one store, runs created as the gate creates them (a decision record each).
 *
 * - `pg_dispatch_latency_p50_ms`: a run is queued (committed) → its one task starts on a worker
 *   process that was waiting (LISTEN/NOTIFY: the worker starts the run, then claims the task);
 *   `pg_dispatch_latency_p50_ms_graphile`: graphile-worker's `add_job` → the job starts, same
 *   server, same run, its samples taken in turn with Airclutch's; `pg_dispatch_vs_graphile` is the
 *   ratio (Airclutch ÷ graphile).
 * - `pg_tasks_per_s_4w` / `_1w`: no-op tasks with audit, 40 runs × 100 tasks, 4 (or 1) worker
 *   processes of concurrency 64; `pg_scaling_4w_over_1w` their ratio; `pg_tasks_per_s_4w_no_audit`
 *   the same with the audit hook off, to see what the audit head's lock costs.
 * - `pg_cpu_ms_per_task_*`: the CPU time the worker processes and the store's PostgreSQL backends
 *   (read from `/proc`, so only with PostgreSQL on this machine) spent per task in those runs. On a
 *   shared 2-core machine the tasks per second follow the CPU the bench gets; this figure does not,
 *   and says whether a change made the work cheaper or only moved a wait.
 * - `chain40_s_pg_fleet`: the 40-task chain through one waiting worker, with audit.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Logger, run } from 'graphile-worker';
import { sql } from 'kysely';
import pg from 'pg';
import { dag } from '../src/dag/dag.ts';
import { Engine } from '../src/engine/engine.ts';
import { StaticDagSource } from '../src/engine/static-dag-source.ts';
import { servicePrincipal } from '../src/identity/principal.ts';
import { createDb, type Db } from '../src/store/create-db.ts';
import { migrateToLatest } from '../src/store/migrate.ts';
import { auditedFleetWorker } from '../test/helpers/audited-fleet-worker.ts';
import { decidedRuns } from '../test/helpers/decided-runs.ts';
import { PG_URL } from '../test/helpers/test-db.ts';
import { runIfMain } from './main.ts';
import { median, round } from './stats.ts';

const RUNS = 40;
const TASKS = 100;

function benchDags(): StaticDagSource {
  const one = dag({ id: 'one', maxActiveRuns: 1_000 });
  one.task('t', () => performance.timeOrigin + performance.now());
  const wide = dag({ id: 'wide', maxActiveRuns: 1_000 });
  for (let i = 0; i < TASKS; i++) wide.task(`t${i}`, () => null);
  // 10,000 tasks and one after them all: each completion may decide the join.
  const fanin = dag({ id: 'fanin', maxActiveRuns: 1_000 });
  const all = Array.from({ length: 10_000 }, (_, i) => fanin.task(`t${i}`, () => null));
  fanin.task('join', { after: all }, () => null);
  const chain = dag({ id: 'chain40', maxActiveRuns: 1_000 });
  let prev: string | undefined;
  for (let i = 0; i < 40; i++) {
    chain.task(`s${i}`, prev ? { after: [prev] } : {}, () => i);
    prev = `s${i}`;
  }
  return new StaticDagSource([one, wide, chain, fanin].map((d) => ({ dag: d, version: `${d.id}-bench` })));
}

/** The store's URL with `application_name` set to the bench's schema, to find its backends. */
function taggedUrl(schema: string): string {
  const u = new URL(PG_URL);
  u.searchParams.set('application_name', schema);
  return u.toString();
}

async function runChild(schema: string, audited: boolean): Promise<void> {
  const db = createDb({ url: taggedUrl(schema), schema, poolSize: 8 });
  const worker = auditedFleetWorker({ db, url: PG_URL, schema, dags: benchDags(), audited });
  await worker.start();
  process.on('SIGUSR2', () => {
    const u = process.cpuUsage();
    process.stdout.write(`cpu ${(u.user + u.system) / 1000}\n`);
  });
  process.stdout.write('ready\n');
  process.once('SIGTERM', async () => {
    await worker.drain(1_000);
    await db.close();
    process.exit(0);
  });
}

async function startWorkers(schema: string, n: number, audited = true): Promise<ChildProcess[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const child = spawn(
        process.execPath,
        [process.argv[1]!, '--fleet-child', schema, audited ? '1' : '0'],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (b: Buffer) => {
          if (b.toString().includes('ready')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`fleet worker exited ${code}`)));
      });
      return child;
    }),
  );
}

async function stopWorkers(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((r) => {
          c.removeAllListeners('exit');
          c.once('exit', () => r());
          c.kill('SIGTERM');
        }),
    ),
  );
}

/** CPU milliseconds the worker processes have used so far (each answers SIGUSR2 on stdout). */
async function workersCpuMs(children: readonly ChildProcess[]): Promise<number> {
  const each = children.map(
    (c) =>
      new Promise<number>((resolve) => {
        const onData = (b: Buffer) => {
          const m = /cpu ([0-9.]+)/.exec(b.toString());
          if (!m) return;
          c.stdout!.off('data', onData);
          resolve(Number(m[1]));
        };
        c.stdout!.on('data', onData);
        c.kill('SIGUSR2');
      }),
  );
  return (await Promise.all(each)).reduce((a, b) => a + b, 0);
}

/** CPU milliseconds the store's backends have used so far, or NaN when PostgreSQL is not local. */
async function backendsCpuMs(db: Db, schema: string): Promise<number> {
  const { rows } = await sql<{ pid: number }>`
    select pid from pg_stat_activity where application_name = ${schema}`.execute(db.kysely);
  let ms = 0;
  for (const { pid } of rows) {
    try {
      // Fields 14 and 15 of /proc/<pid>/stat (after the parenthesised name): utime, stime in ticks.
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ms += ((Number(f[11]) + Number(f[12])) * 1000) / 100;
    } catch {
      return Number.NaN;
    }
  }
  return ms;
}

async function untilDone(db: Db, ids: readonly string[], everyMs = 2): Promise<void> {
  for (;;) {
    const { rows } = await sql<{ n: string }>`
      select count(*) as n from runs where id in (${sql.join(ids)}) and state not in ('success', 'failed')`.execute(
      db.kysely,
    );
    if (Number(rows[0]?.n) === 0) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

async function withStore<T>(fn: (db: Db, schema: string) => Promise<T>): Promise<T> {
  const schema = `fleet_bench_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  const db = createDb({ url: taggedUrl(schema), schema, poolSize: 4 });
  try {
    await migrateToLatest(db);
    return await fn(db, schema);
  } finally {
    await db.close();
    await admin.query(`drop schema if exists ${schema} cascade`);
    await admin.end();
  }
}

interface Throughput {
  readonly tasksPerS: number;
  /** Worker processes' and store backends' CPU per task (the latter NaN without a local PostgreSQL). */
  readonly cpuMsPerTask: number;
}

async function throughput(
  workers: number,
  audited: boolean,
  { dagId, runs, tasks } = { dagId: 'wide', runs: RUNS, tasks: TASKS },
): Promise<Throughput> {
  return withStore(async (db, schema) => {
    const children = await startWorkers(schema, workers, audited);
    try {
      const decided = decidedRuns(db, new Engine({ db, dags: benchDags() }));
      const trigger = () =>
        decided.trigger({ env: 'dev', dagId, source: 'cli', principal: servicePrincipal('bench') });
      await untilDone(db, [(await trigger()).id]); // warm-up
      const cpu0 = (await workersCpuMs(children)) + (await backendsCpuMs(db, schema));
      const t0 = performance.now();
      const ids = await Promise.all(Array.from({ length: runs }, async () => (await trigger()).id));
      await untilDone(db, ids, 10);
      const seconds = (performance.now() - t0) / 1000;
      const cpu1 = (await workersCpuMs(children)) + (await backendsCpuMs(db, schema));
      return { tasksPerS: (runs * tasks) / seconds, cpuMsPerTask: (cpu1 - cpu0) / (runs * tasks) };
    } finally {
      await stopWorkers(children);
    }
  });
}

/** graphile-worker on the same server, in its own schema: `dispatch()` is one `add_job` → job start. */
async function startGraphile(): Promise<{ dispatch(): Promise<number>; stop(): Promise<void> }> {
  const schema = `gw_fleet_bench_${process.pid}`;
  const logger = new Logger(() => (level, message) => {
    if (level === 'error' || level === 'warning') process.stderr.write(`graphile-worker: ${message}\n`);
  });
  let started: (at: number) => void = () => {};
  const runner = await run({
    connectionString: PG_URL,
    schema,
    concurrency: 64,
    noHandleSignals: true,
    logger,
    pollInterval: 1_000,
    taskList: { one: async () => started(performance.timeOrigin + performance.now()) },
  });
  return {
    async dispatch() {
      const at = new Promise<number>((r) => (started = r));
      const t0 = performance.timeOrigin + performance.now();
      await runner.addJob('one', {});
      return (await at) - t0;
    },
    async stop() {
      await runner.stop();
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`drop schema if exists ${schema} cascade`);
      await c.end();
    },
  };
}

/**
 * The dispatch latency of both, sample by sample in turn (Airclutch's, then graphile-worker's), so
 * that both series see the same load on a shared machine; then the chain through the worker.
 */
async function latencyAndChain(): Promise<{ dispatch: number; graphile: number; chain: number }> {
  return withStore(async (db, schema) => {
    const children = await startWorkers(schema, 1);
    const graphile = await startGraphile();
    try {
      const runs = decidedRuns(db, new Engine({ db, dags: benchDags() }));
      const trigger = (dagId: string) =>
        runs.trigger({ env: 'dev', dagId, source: 'cli', principal: servicePrincipal('bench') });
      const ours: number[] = [];
      const theirs: number[] = [];
      for (let i = 0; i < 63; i++) {
        const r = await trigger('one');
        const queuedAt = performance.timeOrigin + performance.now();
        await untilDone(db, [r.id], 1);
        const ti = await db.kysely
          .selectFrom('task_instances')
          .select('output')
          .where('run_id', '=', r.id)
          .executeTakeFirst();
        const their = await graphile.dispatch();
        if (i < 3) continue;
        ours.push(Number(JSON.parse(ti!.output!)) - queuedAt);
        theirs.push(their);
      }
      const chains: number[] = [];
      for (let i = 0; i < 8; i++) {
        const t0 = performance.now();
        await untilDone(db, [(await trigger('chain40')).id], 1);
        if (i >= 2) chains.push(performance.now() - t0);
      }
      return { dispatch: median(ours), graphile: median(theirs), chain: median(chains) / 1000 };
    } finally {
      await graphile.stop();
      await stopWorkers(children);
    }
  });
}

/**
 * `args`: `latency` measures only the dispatch latency (both sides) and the chain; `throughput` only
 * the tasks-per-second figures (to repeat them quickly).
 */
export async function benchFleet(args: readonly string[] = []): Promise<Record<string, number>> {
  let latency: Record<string, number> = {};
  if (!args.includes('throughput')) {
    const { dispatch, graphile, chain } = await latencyAndChain();
    latency = {
      pg_dispatch_latency_p50_ms: round(dispatch, 2),
      pg_dispatch_latency_p50_ms_graphile: round(graphile, 2),
      pg_dispatch_vs_graphile: round(dispatch / graphile, 2),
      chain40_s_pg_fleet: round(chain, 4),
    };
  }
  if (args.includes('latency')) return latency;
  const one = await throughput(1, true);
  const four = await throughput(4, true);
  const fourNoAudit = await throughput(4, false);
  const fanin = await throughput(1, true, { dagId: 'fanin', runs: 1, tasks: 10_001 });
  return {
    ...latency,
    pg_tasks_per_s_1w: Math.round(one.tasksPerS),
    pg_tasks_per_s_4w: Math.round(four.tasksPerS),
    pg_tasks_per_s_4w_no_audit: Math.round(fourNoAudit.tasksPerS),
    pg_scaling_4w_over_1w: round(four.tasksPerS / one.tasksPerS, 2),
    pg_fanin10k_tasks_per_s_1w: Math.round(fanin.tasksPerS),
    ...(Number.isFinite(four.cpuMsPerTask) && {
      pg_cpu_ms_per_task_1w: round(one.cpuMsPerTask, 3),
      pg_cpu_ms_per_task_4w: round(four.cpuMsPerTask, 3),
      pg_cpu_ms_per_task_4w_no_audit: round(fourNoAudit.cpuMsPerTask, 3),
    }),
  };
}

const childAt = process.argv.indexOf('--fleet-child');
if (childAt >= 0) await runChild(process.argv[childAt + 1]!, process.argv[childAt + 2] === '1');
else await runIfMain(import.meta, (args) => benchFleet(args));
