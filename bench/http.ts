/**
 * HTTP trigger throughput: `POST /api/v1/dags/{dagId}/runs` with a real dev-IdP token, allowed by
 * policy, on SQLite (durable: WAL + synchronous=FULL), for AIRCLUTCH_BENCH_HTTP_SECONDS (default 30).
 * The server runs in this process; the load comes from autocannon in a second process on loopback.
 * The executor is not started, so every run stays queued: this measures the API, the identity
 * check, the gate (Cedar + audit record + run insert in one transaction), not task execution.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createAirclutch } from '../src/app/create-airclutch.ts';
import { loadConfig } from '../src/config/load-config.ts';
import { createServer } from '../src/http/create-server.ts';
import { startDevIdp } from '../src/identity/dev-idp.ts';
import { OidcTokenVerifier } from '../src/identity/oidc-token-verifier.ts';

const run = promisify(execFile);

const FILES: Record<string, string> = {
  'dags/noop.ts': `
import { dag } from 'airclutch';
const d = dag({ id: 'noop', maxActiveRuns: 1000000 });
d.task('nothing', () => 1);
export default d;
`,
  'policies/bench.cedar': `
@reason("engineers run DAGs")
permit (principal in Group::"data-eng", action == Action::"trigger", resource);
`,
};

export async function benchHttp(): Promise<{ http_trigger_rps: number; http_p99_ms: number }> {
  const seconds = Number(process.env.AIRCLUTCH_BENCH_HTTP_SECONDS ?? 30);
  const connections = Number(process.env.AIRCLUTCH_BENCH_HTTP_CONNECTIONS ?? 16);
  const dir = mkdtempSync(join(tmpdir(), 'airclutch-bench-http-'));
  for (const [name, text] of Object.entries(FILES)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  const idp = await startDevIdp({ port: 0, dataDir: dir, accessTokenTtlSec: 3_600 });
  const port = Number(new URL(idp.issuer).port);
  writeFileSync(
    join(dir, 'airclutch.config.yaml'),
    `environments:\n  dev:\n    dags: [dags]\n    policies: [policies]\nidentity:\n  devIdp:\n    port: ${port}\nserver:\n  rateLimit:\n    max: 100000000\n`,
  );
  const config = await loadConfig({ cwd: dir, env: {} });
  const ac = await createAirclutch(config);
  const verifier = OidcTokenVerifier.fromConfig(config.identity);
  await verifier.warm();
  const app = await createServer(ac, { verifier });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/api/v1/dags/noop/runs`;
  try {
    const token = await idp.mintToken('eng@example.com');
    const bin = createRequire(import.meta.url).resolve('autocannon/autocannon.js');
    const args = (d: number) => [
      bin,
      '-j',
      '-c',
      String(connections),
      '-d',
      String(d),
      '-m',
      'POST',
      '-H',
      `authorization=Bearer ${token}`,
      '-H',
      'content-type=application/json',
      '-b',
      '{"params":{}}',
      url,
    ];
    await run(process.execPath, args(2), { maxBuffer: 64 << 20 }); // warm-up
    const { stdout } = await run(process.execPath, args(seconds), { maxBuffer: 64 << 20 });
    const r = JSON.parse(stdout) as {
      requests: { average: number };
      latency: { p99: number };
      non2xx: number;
      errors: number;
      '2xx': number;
      duration: number;
    };
    if (r.non2xx > 0 || r.errors > 0)
      process.stderr.write(`http bench: ${r.non2xx} non-2xx answers, ${r.errors} errors\n`);
    return {
      http_trigger_rps: Math.round(r['2xx'] / r.duration),
      http_p99_ms: r.latency.p99,
    };
  } finally {
    await app.close();
    await ac.close();
    await idp.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('bench/http.ts')) console.log(await benchHttp());
