/**
 * Airflow bridge benchmarks, against the fake Airflow (test/airflow) with no added latency:
 * - `bridge_trigger_overhead_p50_ms`: what Airclutch adds to a remote trigger beyond Airflow's own
 *   answer (the fake's server-side time for the POST): token verification, the Cedar decision, the
 *   audit record and the run in one transaction, then the delivery (the HTTP call, the audit record
 *   and the state change in one transaction).
 * - `bridge_catalog_sync_1k_s`: importing a catalogue of 1,000 remote DAGs with their details.
 * - `bridge_follow_runs`: how many remote runs one process follows at a 5 s poll without falling
 *   behind: runs polled in one pass, scaled by 5 s over the pass's duration.
 *
 * The fake runs in this process, and its OpenAPI matching and validation (openapi-backend, Ajv) is
 * the fake's cost, not Airclutch's: it is measured (`fake.contractMs`, synchronous code, so the
 * spans never overlap) and subtracted from the catalogue sync and the follow pass. The rest of the
 * fake's work (routing its own handlers, JSON, HTTP) stays counted, as a real Airflow's network
 * round trip would be.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { airflowAuth } from '../src/airflow/airflow-auth.ts';
import { AirflowCatalog } from '../src/airflow/airflow-catalog.ts';
import { AirflowClient } from '../src/airflow/airflow-client.ts';
import { identityConfigSchema } from '../src/identity/identity-config.ts';
import { OidcTokenVerifier } from '../src/identity/oidc-token-verifier.ts';
import { FakeAirflow } from '../test/airflow/fake-airflow.ts';
import { createWorld } from '../test/helpers/gate-world.ts';
import { startIdpProcess } from './idp-process.ts';
import { runIfMain } from './main.ts';
import { median, percentile, round } from './stats.ts';

const POLICY = `
@reason("engineers operate prod")
permit (principal in Group::"data-eng", action in Action::"operate", resource);
`;

export async function benchAirflow(): Promise<Record<string, number>> {
  return {
    ...(await triggerOverhead()),
    ...(await catalogSync()),
    ...(await followCapacity()),
  };
}

async function worldWithAirflow(fake: FakeAirflow, clock?: { now: number }) {
  const config = [
    'environments:',
    '  prod:',
    '    policies: [prod-policies]',
    '    airflow:',
    `      baseUrl: ${fake.url}`,
    '      api: v2',
    `      auth: { kind: password, username: ${fake.credentials.username}, password: { file: airflow-password } }`,
    '',
  ].join('\n');
  const w = await createWorld('sqlite', {
    config,
    files: { 'prod-policies/roles.cedar': POLICY, 'airflow-password': `${fake.credentials.password}\n` },
    ...(clock ? { clock: () => clock.now } : {}),
  });
  await w.airflow!.catalogs.get('prod')!.refresh();
  await w.policies.load();
  return w;
}

async function triggerOverhead(): Promise<Record<string, number>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'airclutch-bench-idp-'));
  const idp = await startIdpProcess(dataDir);
  const fake = await FakeAirflow.start({ api: 'v2' });
  fake.addDag({ dag_id: 'orders', params: { rows: { value: 10, schema: { type: 'integer' } } } });
  const w = await worldWithAirflow(fake);
  try {
    const verifier = OidcTokenVerifier.fromConfig(identityConfigSchema.parse({ devIdp: { port: idp.port } }));
    const token = await idp.mintToken('eng@example.com');
    const executor = w.airflow!.executor;
    let n = 0;
    const once = async () => {
      const principal = await verifier.verify(token, { action: 'trigger' });
      const res = await w.gate.trigger(
        { principal, source: 'api', requestId: `b-${n++}` },
        { env: 'prod', dagId: 'orders', params: { rows: 5 } },
      );
      if (res.outcome !== 'started') throw new Error(`expected started, got ${res.outcome}`);
      await executor.deliverQueued();
    };
    for (let i = 0; i < 100; i++) await once();
    const overhead: number[] = [];
    for (let i = 0; i < 1_000; i++) {
      const before = fake.triggerTimesMs.length;
      const t0 = performance.now();
      await once();
      const total = performance.now() - t0;
      const airflow = fake.triggerTimesMs.slice(before).reduce((a, b) => a + b, 0);
      overhead.push(total - airflow);
    }
    if (fake.violations.length) throw new Error(`contract violations: ${fake.violations.join('; ')}`);
    return {
      bridge_trigger_overhead_p50_ms: round(percentile(overhead, 50), 3),
      bridge_trigger_overhead_p99_ms: round(percentile(overhead, 99), 3),
    };
  } finally {
    await w.dispose();
    await fake.close();
    await idp.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function catalogSync(): Promise<Record<string, number>> {
  const fake = await FakeAirflow.start({ api: 'v2' });
  try {
    for (let i = 0; i < 1_000; i++) {
      fake.addDag({
        dag_id: `dag_${String(i).padStart(4, '0')}`,
        owners: ['data-eng'],
        tags: ['bench', i % 2 ? 'pii' : 'public'],
        schedule: '0 * * * *',
        params: { rows: { value: i, schema: { type: 'integer' } }, region: { value: 'eu', schema: {} } },
      });
    }
    const times: number[] = [];
    for (let rep = 0; rep < 3; rep++) {
      const auth = airflowAuth(
        { kind: 'password', username: fake.credentials.username, password: { env: 'P' } },
        { baseUrl: fake.url, timeoutMs: 30_000, env: { P: fake.credentials.password } },
      );
      const client = new AirflowClient({ baseUrl: fake.url, api: 'v2', auth, pageSize: 100 });
      const catalog = new AirflowCatalog({ env: 'prod', client });
      const contract0 = fake.contractMs;
      const t0 = performance.now();
      const change = await catalog.refresh();
      times.push((performance.now() - t0 - (fake.contractMs - contract0)) / 1000);
      if (change.added.length !== 1_000) throw new Error(`imported ${change.added.length} DAGs, not 1000`);
    }
    return { bridge_catalog_sync_1k_s: round(median(times), 3) };
  } finally {
    await fake.close();
  }
}

async function followCapacity(): Promise<Record<string, number>> {
  const clock = { now: Date.now() };
  const fake = await FakeAirflow.start({ api: 'v2' });
  fake.addDag({ dag_id: 'orders', tasks: ['extract', 'transform', 'load'] });
  const w = await worldWithAirflow(fake, clock);
  try {
    const executor = w.airflow!.executor;
    const runs = 500;
    const ctx = {
      principal: {
        kind: 'user' as const,
        id: 'eng@example.com',
        groups: ['data-eng'],
        issuer: 'https://idp.test',
        subject: 'eng',
        token: { scopes: [], amr: [] },
      },
      source: 'api' as const,
      requestId: 'follow',
    };
    for (let i = 0; i < runs; i++) await w.gate.trigger(ctx, { env: 'prod', dagId: 'orders', params: {} });
    await executor.deliverQueued();
    await executor.followRunning();
    fake.step();
    const passes: number[] = [];
    for (let rep = 0; rep < 3; rep++) {
      clock.now += 120_000;
      const contract0 = fake.contractMs;
      const t0 = performance.now();
      await executor.followRunning();
      passes.push(performance.now() - t0 - (fake.contractMs - contract0));
    }
    if (executor.followedCount < runs)
      throw new Error(`following ${executor.followedCount} runs, not ${runs}`);
    return { bridge_follow_runs: Math.floor((runs * 5_000) / median(passes)) };
  } finally {
    await w.dispose();
    await fake.close();
  }
}

await runIfMain(import.meta, () => benchAirflow());
