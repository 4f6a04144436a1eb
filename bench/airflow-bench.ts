/**
 * Airflow bridge benchmarks, against the fake Airflow (test/airflow) running in its own process
 * (bench/fake-airflow-process.ts), with no added latency, so that its routing, OpenAPI validation and
 * JSON work are Airflow's answer and not on the event loop being measured:
 * - `bridge_trigger_overhead_p50_ms`: what Airclutch adds to a remote trigger before Airflow has it:
 *   token verification, the Cedar decision, the audit record and the run in one transaction (one
 *   fsync), then the call: the gate hands the committed row to the running executor (as in the
 *   server), which delivers it without reading it back. Measured as (Airclutch's trigger started →
 *   Airflow received the POST) minus (a direct `POST …/dagRuns` to the same fake, with the same body,
 *   from this process, started → received), taken in pairs one right after the other. The fake
 *   stamps each arrival with `performance.timeOrigin + now()`, a clock both processes share.
 * - `bridge_trigger_roundtrip_overhead_p50_ms`: the same pairs end to end: Airclutch's trigger
 *   until its delivery is recorded (a second, grouped commit: `queued → running` with
 *   `airflow.trigger: delivered`) minus the direct POST until its answer was read.
 * - `bridge_catalog_sync_1k_s`: importing a catalogue of 1,000 remote DAGs with their details.
 * - `bridge_follow_runs`: how many remote runs one process follows at a 5 s poll without falling
 *   behind: runs polled in one pass (batch reads, each running try's log), scaled by 5 s over the
 *   pass's duration.
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
import { createWorld } from '../test/helpers/gate-world.ts';
import { type FakeAirflowProcess, startFakeAirflowProcess } from './fake-airflow-process.ts';
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

async function worldWithAirflow(fake: FakeAirflowProcess, clock?: { now: number }, pollIntervalMs?: number) {
  const config = [
    'environments:',
    '  prod:',
    '    policies: [prod-policies]',
    '    airflow:',
    `      baseUrl: ${fake.url}`,
    '      api: v2',
    `      auth: { kind: password, username: ${fake.credentials.username}, password: { file: airflow-password } }`,
    ...(pollIntervalMs
      ? [`      pollIntervalMs: ${pollIntervalMs}`, `      maxPollIntervalMs: ${pollIntervalMs}`]
      : []),
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

export async function triggerOverhead(): Promise<Record<string, number>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'airclutch-bench-idp-'));
  const idp = await startIdpProcess(dataDir);
  const fake = await startFakeAirflowProcess('v2');
  await fake.addDags([{ dag_id: 'orders', params: { rows: { value: 10, schema: { type: 'integer' } } } }]);
  // The runs are not followed while triggers are measured (the follower's polls are another figure).
  const w = await worldWithAirflow(fake, undefined, 3_600_000);
  try {
    const verifier = OidcTokenVerifier.fromConfig(identityConfigSchema.parse({ devIdp: { port: idp.port } }));
    const token = await idp.mintToken('eng@example.com');
    const executor = w.airflow!.executor;
    const auth = w.airflow!.catalogs.get('prod')!.client.auth;
    // The server's path: the gate hands the committed row to the running executor, which delivers it.
    const waiting = new Map<string, () => void>();
    w.engine.on('run', (e) => {
      if (e.state === 'running') waiting.get(e.runId)?.();
    });
    executor.start();
    let n = 0;
    const viaAirclutch = async () => {
      const principal = await verifier.verify(token, { action: 'trigger' });
      const res = await w.gate.trigger(
        { principal, source: 'api', requestId: `b-${n++}` },
        { env: 'prod', dagId: 'orders', params: { rows: 5 } },
      );
      if (res.outcome !== 'started') throw new Error(`expected started, got ${res.outcome}`);
      // Delivery needs Airflow's answer, so it cannot have been recorded before the trigger returned.
      await new Promise<void>((resolve) => waiting.set(res.run.id, resolve));
      waiting.delete(res.run.id);
    };
    // The same call the bridge makes, straight to the fake: Airflow's own answer, with the round trip.
    const direct = async (): Promise<string> => {
      const runId = `direct__${n++}`;
      const res = await fetch(`${fake.url}/api/v2/dags/orders/dagRuns`, {
        method: 'POST',
        headers: {
          accept: 'application/json',
          'content-type': 'application/json',
          authorization: await auth.header(),
        },
        body: JSON.stringify({
          dag_run_id: runId,
          conf: { rows: 5 },
          note: 'Airclutch run 00000000-0000-0000-0000-000000000000: requested by eng@example.com (verified user) via api',
          logical_date: null,
        }),
        signal: AbortSignal.timeout(10_000),
      });
      if (res.status !== 200) throw new Error(`direct trigger answered ${res.status}`);
      await res.text();
      return runId;
    };
    for (let i = 0; i < 100; i++) {
      await direct();
      await viaAirclutch();
    }
    const wall = () => performance.timeOrigin + performance.now();
    const pairs: { direct: string; bridge: number; t0: number; t1: number; t2: number }[] = [];
    for (let i = 0; i < 1_000; i++) {
      const t0 = wall();
      const directId = await direct();
      const t1 = wall();
      const before = n;
      await viaAirclutch();
      const t2 = wall();
      pairs.push({ direct: directId, bridge: before, t0, t1, t2 });
    }
    const arrivals = await fake.arrivals();
    const delivered = new Map(
      (
        await w.db.kysely
          .selectFrom('audit_records')
          .select(['run_id', 'request_id'])
          .where('action', '=', 'trigger')
          .execute()
      ).map((r) => [r.request_id, r.run_id]),
    );
    const toArrival: number[] = [];
    const roundTrip: number[] = [];
    for (const p of pairs) {
      const runId = delivered.get(`b-${p.bridge}`);
      const bridgeArrived = runId ? arrivals.get(`airclutch__${runId}`) : undefined;
      const directArrived = arrivals.get(p.direct);
      if (bridgeArrived === undefined || directArrived === undefined)
        throw new Error('a trigger never arrived');
      toArrival.push(bridgeArrived - p.t1 - (directArrived - p.t0));
      roundTrip.push(p.t2 - p.t1 - (p.t1 - p.t0));
    }
    const stats = await fake.stats();
    if (stats.violations.length) throw new Error(`contract violations: ${stats.violations.join('; ')}`);
    return {
      bridge_trigger_overhead_p50_ms: round(percentile(toArrival, 50), 3),
      bridge_trigger_overhead_p99_ms: round(percentile(toArrival, 99), 3),
      bridge_trigger_roundtrip_overhead_p50_ms: round(percentile(roundTrip, 50), 3),
      bridge_trigger_roundtrip_overhead_p99_ms: round(percentile(roundTrip, 99), 3),
    };
  } finally {
    await w.airflow!.executor.stop();
    await w.dispose();
    await fake.close();
    await idp.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function catalogSync(): Promise<Record<string, number>> {
  const fake = await startFakeAirflowProcess('v2');
  try {
    await fake.addDags(
      Array.from({ length: 1_000 }, (_, i) => ({
        dag_id: `dag_${String(i).padStart(4, '0')}`,
        owners: ['data-eng'],
        tags: ['bench', i % 2 ? 'pii' : 'public'],
        schedule: '0 * * * *',
        params: { rows: { value: i, schema: { type: 'integer' } }, region: { value: 'eu', schema: {} } },
      })),
    );
    const times: number[] = [];
    for (let rep = 0; rep < 3; rep++) {
      const auth = airflowAuth(
        { kind: 'password', username: fake.credentials.username, password: { env: 'P' } },
        { baseUrl: fake.url, timeoutMs: 30_000, env: { P: fake.credentials.password } },
      );
      const client = new AirflowClient({ baseUrl: fake.url, api: 'v2', auth, pageSize: 100 });
      const catalog = new AirflowCatalog({ env: 'prod', client });
      const t0 = performance.now();
      const change = await catalog.refresh();
      times.push((performance.now() - t0) / 1000);
      if (change.added.length !== 1_000) throw new Error(`imported ${change.added.length} DAGs, not 1000`);
    }
    const stats = await fake.stats();
    if (stats.violations.length) throw new Error(`contract violations: ${stats.violations.join('; ')}`);
    return { bridge_catalog_sync_1k_s: round(median(times), 3) };
  } finally {
    await fake.close();
  }
}

async function followCapacity(): Promise<Record<string, number>> {
  const clock = { now: Date.now() };
  const fake = await startFakeAirflowProcess('v2');
  await fake.addDags([{ dag_id: 'orders', tasks: ['extract', 'transform', 'load'] }]);
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
    await fake.step();
    const passes: number[] = [];
    for (let rep = 0; rep < 3; rep++) {
      clock.now += 120_000;
      const t0 = performance.now();
      await executor.followRunning();
      passes.push(performance.now() - t0);
    }
    const stats = await fake.stats();
    if (stats.violations.length) throw new Error(`contract violations: ${stats.violations.join('; ')}`);
    if (executor.followedCount < runs)
      throw new Error(`following ${executor.followedCount} runs, not ${runs}`);
    return { bridge_follow_runs: Math.floor((runs * 5_000) / median(passes)) };
  } finally {
    await w.dispose();
    await fake.close();
  }
}

await runIfMain(import.meta, () => benchAirflow());
