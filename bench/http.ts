/**
 * HTTP trigger throughput as users run it: `POST /api/v1/dags/{dagId}/runs` with params, from 200
 * principals, each with its own RS256 access token (so identity checks 200 signatures and the
 * per-principal rate limits and caches work as under real traffic), the default rate limits, the
 * example policies (`examples/policies`) plus a DAG policy on params, SQLite (WAL +
 * `synchronous=FULL`), and the executor running the runs it accepts. Measured for
 * AIRCLUTCH_BENCH_HTTP_SECONDS (default 20) at each of AIRCLUTCH_BENCH_HTTP_CONNECTIONS (default
 * 8,12,16,24: the p99 crosses 25 ms between 8 and 16, so the sweep is finer there). The server runs
 * in this process, the load comes from autocannon in another. After each load the bench waits until the
 * executor has finished every accepted run, and reports how many were left.
 * @module
 */
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pino from 'pino';
import { createAirclutch } from '../src/app/create-airclutch.ts';
import { createServer } from '../src/http/create-server.ts';
import { OidcTokenVerifier } from '../src/identity/oidc-token-verifier.ts';
import { startBenchIssuer, writeProject } from './bench-world.ts';
import { compileSuite } from './compile-suite.ts';
import { growWal } from './grow-wal.ts';
import { runIfMain } from './main.ts';

const run = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
const PRINCIPALS = 200;

const example = (name: string) => readFileSync(join(HERE, '../examples/policies', name), 'utf8');

const FILES: Record<string, string> = {
  'dags/ingest.ts': `
import { dag } from 'airclutch';
import { z } from 'zod';
const d = dag({ id: 'ingest', owner: 'data-eng', maxActiveRuns: 1000,
  params: z.object({ rows: z.number().int().min(1).max(1000000).default(1000),
    region: z.enum(['eu', 'us']).default('eu'), dryRun: z.boolean().default(false) }) });
const extract = d.task('extract', (ctx) => ({ rows: ctx.params.rows }));
d.task('load', { after: [extract] }, (ctx) => ctx.upstream(extract).rows);
export default d;
`,
  'dags/ingest.cedar': `
@reason("more than 500,000 rows in prod needs a data-lead's approval")
forbid (principal, action == Action::"trigger", resource in Env::"prod")
when { context.params.rows > 500000 && !context.params.dryRun };
`,
  'policies/roles.cedar': example('roles.cedar'),
  'policies/prod-freeze.cedar': example('prod-freeze.cedar'),
};

const P99_BOUND_MS = 25;

interface AutocannonResult {
  latency: { p99: number };
  non2xx: number;
  errors: number;
  '2xx': number;
  duration: number;
}

export async function benchHttp(): Promise<Record<string, number>> {
  const seconds = Number(process.env.AIRCLUTCH_BENCH_HTTP_SECONDS ?? 20);
  const connections = (process.env.AIRCLUTCH_BENCH_HTTP_CONNECTIONS ?? '8,12,16,24').split(',').map(Number);
  const issuer = await startBenchIssuer();
  const identity = `identity:\n  allowInsecureIssuers: true\n  devIdp:\n    enabled: false\n  issuers:\n    - issuer: ${issuer.server.issuer}\n      audiences: [airclutch]\n      typ: at+jwt\n`;
  const { dir, config } = await writeProject(FILES, identity);
  const ac = await createAirclutch(config);
  await growWal(ac.db);
  const verifier = OidcTokenVerifier.fromConfig(config.identity);
  await verifier.warm();
  // As `airclutch serve` runs it (`startHttp`): pino at info, logging each request, and process metrics.
  const log = pino({ level: 'info' }, pino.destination({ dest: join(dir, 'server.log') }));
  const app = await createServer(ac, {
    verifier,
    logger: log.child({ component: 'http' }),
    processMetrics: true,
  });
  await ac.engine.start();
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/api/v1/dags/ingest/runs`;
  try {
    // One token per principal, used for its lifetime as clients do: each is verified once, then
    // the verification cache answers; each principal has its own rate-limit bucket.
    const tokens: string[] = [];
    for (let i = 0; i < PRINCIPALS; i++) tokens.push(await issuer.token(`eng${i}@example.com`, ['data-eng']));
    const file = join(dir, 'tokens.txt');
    // The load generator runs compiled too: through the TypeScript loader it would take more of the
    // two cores the server shares with it.
    const loadScript = await compileSuite('http-load.ts');
    writeFileSync(file, tokens.join('\n'));
    const unfinished = async () =>
      Number(
        (
          await ac.db.kysely
            .selectFrom('runs')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('state', 'in', ['queued', 'running'])
            .executeTakeFirstOrThrow()
        ).n,
      );
    const load = async (c: number, d: number) => {
      const args = [loadScript, url, file, String(c), String(d)];
      const { stdout } = await run(process.execPath, args, { maxBuffer: 64 << 20 });
      const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as AutocannonResult;
      if (r.non2xx > 0 || r.errors > 0)
        process.stderr.write(`http bench: ${r.non2xx} non-2xx answers, ${r.errors} errors\n`);
      const backlog = await unfinished();
      const t0 = performance.now();
      while ((await unfinished()) > 0) await new Promise((res) => setTimeout(res, 20));
      const drainMs = Math.round(performance.now() - t0);
      return { rps: Math.round(r['2xx'] / r.duration), p99: r.latency.p99, connections: c, backlog, drainMs };
    };
    await load(connections[0]!, 2); // warm-up
    // The figure is a rate at a latency bound: the best rate whose p99 stays within 25 ms. Too many
    // connections only queue requests (latency = connections / rate), so several loads are tried.
    const tries = [];
    for (const c of connections) tries.push(await load(c, seconds));
    const within = tries.filter((t) => t.p99 <= P99_BOUND_MS).sort((a, b) => b.rps - a.rps);
    const best = within[0] ?? [...tries].sort((a, b) => a.p99 - b.p99)[0]!;
    for (const t of tries)
      process.stderr.write(
        `http bench: ${t.connections} connections: ${t.rps}/s, p99 ${t.p99} ms, ${t.backlog} runs unfinished at the end, drained in ${t.drainMs} ms\n`,
      );
    // How many principals the accepted triggers came from (the audit trail says, not the generator).
    const principals = await ac.db.kysely
      .selectFrom('audit_records')
      .select((eb) => eb.fn.count<number>('actor_id').distinct().as('n'))
      .where('action', '=', 'trigger')
      .executeTakeFirstOrThrow();
    return {
      http_trigger_rps: best.rps,
      http_p99_ms: best.p99,
      http_connections: best.connections,
      // Runs the executor had not finished when the load stopped: a rate it cannot keep up with shows here.
      http_unfinished_runs: best.backlog,
      http_principals: Number(principals.n),
    };
  } finally {
    await app.close();
    await ac.engine.stop(1_000);
    await ac.close();
    await issuer.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await runIfMain(import.meta, () => benchHttp());
