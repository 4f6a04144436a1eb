/**
 * Profiling aid: the statements a fleet worker sends between a run being queued and its one task
 * starting (`pg_dispatch_latency_p50_ms` of `bench/fleet.ts`). Runs one worker in this process,
 * with `pg.Client#query` wrapped, and prints the statements of each dispatch, in order, with
 * their time on the wire. `node <bundle> [runs]`; `node <bundle> [runs] chain` counts the statements
 * per step of a 40-task chain through the worker instead (`chain40_s_pg_fleet`).
 * @module
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { dag } from '../src/dag/dag.ts';
import { Engine } from '../src/engine/engine.ts';
import { StaticDagSource } from '../src/engine/static-dag-source.ts';
import { servicePrincipal } from '../src/identity/principal.ts';
import { createDb } from '../src/store/create-db.ts';
import { migrateToLatest } from '../src/store/migrate.ts';
import { auditedFleetWorker } from '../test/helpers/audited-fleet-worker.ts';
import { decidedRuns } from '../test/helpers/decided-runs.ts';
import { PG_URL } from '../test/helpers/test-db.ts';
import { logPgStatements } from './pg-statement-log.ts';
import { median } from './stats.ts';

const log = logPgStatements();

const schema = `fleet_probe_${process.pid}`;
const admin = new pg.Client({ connectionString: PG_URL });
await admin.connect();
await admin.query(`create schema ${schema}`);
const db = createDb({ url: PG_URL, schema, poolSize: 8 });
await migrateToLatest(db);
const one = dag({ id: 'one', maxActiveRuns: 1_000 });
one.task('t', () => performance.now());
const chain = dag({ id: 'chain40', maxActiveRuns: 1_000 });
let prev: string | undefined;
for (let i = 0; i < 40; i++) {
  chain.task(`s${i}`, prev ? { after: [prev] } : {}, () => i);
  prev = `s${i}`;
}
const dags = new StaticDagSource([
  { dag: one, version: 'one-bench' },
  { dag: chain, version: 'chain-bench' },
]);
const workerDb = createDb({ url: PG_URL, schema, poolSize: 8 });
const worker = auditedFleetWorker({ db: workerDb, url: PG_URL, schema, dags });
await worker.start();
const runs = decidedRuns(db, new Engine({ db, dags }));
const n = Number(process.argv[2] ?? 20);
const samples: number[] = [];
if (process.argv[3] === 'chain') {
  const counts = new Map<string, { n: number; ms: number }>();
  for (let i = 0; i < n; i++) {
    log.entries.length = 0;
    log.recording = true;
    const t0 = performance.now();
    const r = await runs.trigger({
      env: 'dev',
      dagId: 'chain40',
      source: 'cli',
      principal: servicePrincipal('bench'),
    });
    for (;;) {
      const { rows } = await admin.query(`select state from ${schema}.runs where id = $1`, [r.id]);
      if (rows[0]?.state === 'success') break;
      await new Promise((res) => setTimeout(res, 1));
    }
    samples.push(performance.now() - t0);
    log.recording = false;
    if (i < 2) continue;
    for (const l of log.entries) {
      if (l.text.includes(`from ${schema}.runs where id`)) continue;
      const c = counts.get(l.text) ?? { n: 0, ms: 0 };
      c.n++;
      c.ms += l.ms;
      counts.set(l.text, c);
    }
  }
  const steps = (n - 2) * 40;
  let total = 0;
  for (const [text, c] of [...counts].sort((a, b) => b[1].n - a[1].n)) {
    total += c.n;
    console.log(
      `${(c.n / steps).toFixed(2).padStart(6)}/step ${(c.ms / c.n).toFixed(3).padStart(7)} ms  ${text}`,
    );
  }
  console.log(
    `${(total / steps).toFixed(2)} statements per step; chain p50 ${median(samples.slice(2)).toFixed(1)} ms`,
  );
  process.exit(0);
}
for (let i = 0; i < n; i++) {
  const r = await runs.trigger({
    env: 'dev',
    dagId: 'one',
    source: 'cli',
    principal: servicePrincipal('bench'),
  });
  const queuedAt = performance.now();
  log.entries.length = 0;
  log.recording = true;
  for (;;) {
    const ti = await admin.query(
      `select output from ${schema}.task_instances where run_id = $1 and state = 'success'`,
      [r.id],
    );
    if (ti.rows.length) {
      samples.push(Number(JSON.parse(ti.rows[0].output)) - queuedAt);
      break;
    }
    await new Promise((res) => setTimeout(res, 1));
  }
  log.recording = false;
  if (i === n - 1) {
    const started = Number(
      JSON.parse(
        (await admin.query(`select output from ${schema}.task_instances where run_id = $1`, [r.id])).rows[0]
          .output,
      ),
    );
    for (const l of log.entries.sort((a, b) => a.at - b.at))
      if (l.at < started && !l.text.includes('task_instances where run_id'))
        console.log(
          `${(l.at - queuedAt).toFixed(2).padStart(7)} +${l.ms.toFixed(2).padStart(5)} ms  ${l.text}`,
        );
    console.log(`task started at ${(started - queuedAt).toFixed(2)} ms`);
  }
}
console.log(`dispatch p50 ${median(samples.slice(3)).toFixed(2)} ms`);
await worker.drain(1_000);
await workerDb.close();
await db.close();
await admin.query(`drop schema ${schema} cascade`);
await admin.end();
