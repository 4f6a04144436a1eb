/** The Airflow client against the fake Airflow, for both API versions: auth, paging, triggers, faults. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { airflowAuth } from '../../src/airflow/airflow-auth.ts';
import { AirflowClient } from '../../src/airflow/airflow-client.ts';
import type { AirflowAuthConfig } from '../../src/airflow/airflow-config.ts';
import { AirclutchError } from '../../src/lib/errors.ts';
import { FakeAirflow, type FakeAirflowOptions } from './fake-airflow.ts';

let fake: FakeAirflow | undefined;
const dirs: string[] = [];

afterEach(async () => {
  await fake?.close();
  fake = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function setup(
  api: 'v1' | 'v2',
  extra: Partial<FakeAirflowOptions> = {},
  clientOpts: { timeoutMs?: number; password?: string } = {},
) {
  fake = await FakeAirflow.start({ api, ...extra });
  const env = { AF_PW: clientOpts.password ?? fake.credentials.password };
  const auth: AirflowAuthConfig =
    api === 'v2'
      ? { kind: 'password', username: fake.credentials.username, password: { env: 'AF_PW' } }
      : { kind: 'basic', username: fake.credentials.username, password: { env: 'AF_PW' } };
  const timeoutMs = clientOpts.timeoutMs ?? 5_000;
  const client = new AirflowClient({
    baseUrl: fake.url,
    api,
    auth: airflowAuth(auth, { baseUrl: fake.url, timeoutMs, env }),
    requestTimeoutMs: timeoutMs,
    retries: 2,
    retryBaseMs: 1,
    pageSize: 2,
  });
  return { fake, client };
}

async function caught(p: Promise<unknown>): Promise<AirclutchError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AirclutchError) return e;
    throw e;
  }
  throw new Error('expected an AirclutchError');
}

describe.each(['v1', 'v2'] as const)('the Airflow client on the %s API', (api) => {
  it('reads the version and accepts the API it was configured with', async () => {
    const { fake, client } = await setup(api);
    expect(await client.checkVersion()).toBe(api === 'v2' ? '3.2.0' : '2.10.5');
    expect(fake.violations).toEqual([]);
  });

  it('says which API to configure when the server serves the other one', async () => {
    const { fake } = await setup(api);
    const other = api === 'v2' ? 'v1' : 'v2';
    const wrong = new AirflowClient({
      baseUrl: fake.url,
      api: other,
      auth: airflowAuth(
        { kind: 'basic', username: 'x', password: { env: 'X' } },
        { baseUrl: fake.url, timeoutMs: 2000, env: { X: 'y' } },
      ),
      retries: 0,
    });
    const e = await caught(wrong.checkVersion());
    expect(e.code).toBe('AIRFLOW_VERSION_MISMATCH');
    expect(e.message).toContain(`set airflow.api to '${api}'`);
  });

  it('lists every DAG across pages, with owners, tags, schedule and paused state', async () => {
    const { fake, client } = await setup(api);
    for (const id of ['a', 'b', 'c', 'd', 'e'])
      fake.addDag({
        dag_id: id,
        owners: ['data-eng'],
        tags: ['pii'],
        schedule: '0 2 * * *',
        is_paused: id === 'c',
      });
    const dags = await client.listDags();
    expect(dags.map((d) => d.dagId)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(dags[2]).toMatchObject({
      owners: ['data-eng'],
      tags: ['pii'],
      schedule: '0 2 * * *',
      isPaused: true,
    });
    expect(fake.requests.filter((r) => r.path.endsWith('/dags')).length).toBe(3);
    expect(fake.violations).toEqual([]);
  });

  it("reads a DAG's params from the details endpoint", async () => {
    const { fake, client } = await setup(api);
    fake.addDag({
      dag_id: 'etl',
      params: {
        rows: {
          __class: 'airflow.models.param.Param',
          value: 10,
          description: null,
          schema: { type: 'integer' },
        },
      },
    });
    const d = await client.dagDetails('etl');
    expect(d.params).toEqual({ rows: expect.objectContaining({ value: 10, schema: { type: 'integer' } }) });
    expect(fake.violations).toEqual([]);
  });

  it('triggers a run with its run id, conf and note, and a repeat of the same trigger is the same run', async () => {
    const { fake, client } = await setup(api);
    fake.addDag({ dag_id: 'etl' });
    const t = {
      dagId: 'etl',
      runId: 'airclutch__r1',
      conf: { rows: 3 },
      note: 'requested by eng@example.com',
      logicalDate: '2026-11-29T04:00:00.000Z',
    };
    const run = await client.triggerRun(t);
    expect(run).toMatchObject({
      dagId: 'etl',
      runId: 'airclutch__r1',
      state: 'queued',
      note: 'requested by eng@example.com',
    });
    expect(fake.run('etl', 'airclutch__r1')?.conf).toEqual({ rows: 3 });
    const again = await client.triggerRun(t);
    expect(again.runId).toBe('airclutch__r1');
    expect(fake.runs.size).toBe(1);
    expect(fake.requests.filter((r) => r.method === 'post' && r.status === 409)).toHaveLength(1);
    expect(fake.violations).toEqual([]);
  });

  it('follows a run and its task instances to the end, reads logs, and marks a run failed', async () => {
    const { fake, client } = await setup(api);
    fake.addDag({ dag_id: 'etl', tasks: ['extract', 'load'] });
    await client.triggerRun({
      dagId: 'etl',
      runId: 'r1',
      conf: {},
      note: 'n',
      logicalDate: '2026-11-29T04:00:00.000Z',
    });
    fake.step();
    expect((await client.getRun('etl', 'r1'))?.state).toBe('running');
    fake.step();
    expect((await client.getRun('etl', 'r1'))?.state).toBe('success');
    const tis = await client.taskInstances('etl', 'r1');
    expect(tis).toEqual([
      { taskId: 'extract', state: 'success', tryNumber: 1 },
      { taskId: 'load', state: 'success', tryNumber: 1 },
    ]);
    expect(await client.taskLog('etl', 'r1', 'load', 1)).toContain('load try 1');
    expect(await client.getRun('etl', 'nope')).toBeUndefined();
    await client.triggerRun({
      dagId: 'etl',
      runId: 'r2',
      conf: {},
      note: 'n',
      logicalDate: '2026-11-29T04:00:01.000Z',
    });
    expect((await client.failRun('etl', 'r2')).state).toBe('failed');
    expect(fake.violations).toEqual([]);
  });

  it('pauses a DAG and clears a failed task so Airflow runs it again', async () => {
    const { fake, client } = await setup(api);
    fake.addDag({ dag_id: 'etl', tasks: ['extract', 'load'], outcome: 'failed' });
    expect((await client.setPaused('etl', true)).isPaused).toBe(true);
    expect(fake.dags.get('etl')?.is_paused).toBe(true);
    await client.triggerRun({
      dagId: 'etl',
      runId: 'r1',
      conf: {},
      note: 'n',
      logicalDate: '2026-11-29T04:00:00.000Z',
    });
    fake.step();
    fake.step();
    expect(fake.run('etl', 'r1')?.state).toBe('failed');
    expect(await client.clearTasks('etl', 'r1', ['load'])).toEqual(['load']);
    expect(fake.run('etl', 'r1')?.state).toBe('queued');
    expect(fake.violations).toEqual([]);
  });

  it('reports a down Airflow as unreachable after its retries', async () => {
    const { fake, client } = await setup(api);
    await client.listDags();
    await fake.stop();
    const e = await caught(client.listDags());
    expect(e.code).toBe('AIRFLOW_UNREACHABLE');
    expect(e.message).toContain('cannot be reached for GET /api/');
    expect(e.message).toContain('ECONNREFUSED');
  });

  it('reports a slow Airflow as a timeout', async () => {
    const { fake, client } = await setup(api, {}, { timeoutMs: 200 });
    await client.listDags();
    fake.faults.delayMs = 2_000;
    const e = await caught(client.getRun('etl', 'r1'));
    expect(e.code).toBe('AIRFLOW_TIMEOUT');
    expect(e.message).toMatch(/did not answer GET \/api\/v[12]\/dags\/etl\/dagRuns\/r1 within 200 ms/);
  });

  it('retries a read through a 5xx and gives up with a clear error when it persists', async () => {
    const { fake, client } = await setup(api);
    fake.addDag({ dag_id: 'etl' });
    fake.faults.failNext = { status: 503, count: 2 };
    expect((await client.dagDetails('etl')).dagId).toBe('etl');
    fake.faults.failNext = { status: 500, count: 10 };
    const e = await caught(client.dagDetails('etl'));
    expect(e.code).toBe('AIRFLOW_UNREACHABLE');
    expect(e.message).toContain('Airflow answered 500 to GET');
    expect(fake.violations).toEqual([]);
  });

  it('refuses with the status when the service account lacks a permission', async () => {
    const { fake, client } = await setup(api);
    fake.addDag({ dag_id: 'etl' });
    fake.faults.forbid = true;
    const e = await caught(client.dagDetails('etl'));
    expect(e.code).toBe('AIRFLOW_REFUSED');
    expect(e.message).toContain('answered 403');
    expect(e.message).toContain('lacks a permission');
    expect(fake.violations).toEqual([]);
  });

  it('refuses wrong credentials as an authentication failure that names the source, not the secret', async () => {
    const { fake, client } = await setup(api, {}, { password: 'wrong-pw-123' });
    fake.addDag({ dag_id: 'etl' });
    const e = await caught(client.dagDetails('etl'));
    expect(e.code).toBe('AIRFLOW_AUTH_FAILED');
    expect(e.message).not.toContain('wrong-pw-123');
    expect(e.message).toMatch(
      api === 'v2'
        ? /refused the credentials \(HTTP 401\): check the secret in env AF_PW/
        : /answered 401 .* service credentials \(basic\)/,
    );
  });

  it('never creates a run twice when the trigger answer comes after the timeout', async () => {
    const { fake, client } = await setup(api, {}, { timeoutMs: 300 });
    fake.addDag({ dag_id: 'etl' });
    fake.faults.holdTriggerMs = 1_500;
    const run = await client.triggerRun({
      dagId: 'etl',
      runId: 'airclutch__late',
      conf: {},
      note: 'n',
      logicalDate: '2026-11-29T04:00:00.000Z',
    });
    expect(run.runId).toBe('airclutch__late');
    expect(fake.runs.size).toBe(1);
    expect(fake.violations).toEqual([]);
  });

  it('does not report a trigger as started when Airflow never created it', async () => {
    const { fake, client } = await setup(api);
    fake.addDag({ dag_id: 'etl' });
    await client.listDags();
    fake.faults.failNext = { status: 502, count: 100 };
    const e = await caught(
      client.triggerRun({
        dagId: 'etl',
        runId: 'r1',
        conf: {},
        note: 'n',
        logicalDate: '2026-11-29T04:00:00.000Z',
      }),
    );
    expect(e.code).toBe('AIRFLOW_UNREACHABLE');
    expect(e.message).toContain('answered 502 to POST');
    expect(fake.runs.size).toBe(0);
  });
});

describe('tokens on the v2 API', () => {
  it('reuses a token, and refreshes once and retries once when it expires mid-run', async () => {
    const { fake, client } = await setup('v2');
    fake.addDag({ dag_id: 'etl' });
    await client.triggerRun({
      dagId: 'etl',
      runId: 'r1',
      conf: {},
      note: 'n',
      logicalDate: '2026-11-29T04:00:00.000Z',
    });
    await client.getRun('etl', 'r1');
    expect(fake.tokensIssued).toBe(1);
    fake.expireTokens();
    expect((await client.getRun('etl', 'r1'))?.runId).toBe('r1');
    expect(fake.tokensIssued).toBe(2);
    expect(fake.requests.filter((r) => r.status === 401)).toHaveLength(1);
    expect(fake.violations).toEqual([]);
  });

  it('refreshes a token before it expires, by the clock', async () => {
    let now = Date.parse('2026-11-29T04:00:00Z');
    fake = await FakeAirflow.start({ api: 'v2', tokenTtlSec: 600, now: () => now });
    const auth = airflowAuth(
      { kind: 'password', username: fake.credentials.username, password: { env: 'P' } },
      { baseUrl: fake.url, timeoutMs: 2000, env: { P: fake.credentials.password }, now: () => now },
    );
    const first = await auth.header();
    expect(auth.tokenFacts()?.expiresAt).toBe(now + 600_000);
    now += 500_000;
    expect(await auth.header()).toBe(first);
    now += 50_000; // within a tenth of its life of the expiry
    expect(await auth.header()).not.toBe(first);
    expect(fake.tokensIssued).toBe(2);
  });
});

describe('credential sources', () => {
  it('re-reads a credential file when it changes, as a rotated Kubernetes secret', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'af-cred-'));
    dirs.push(dir);
    const file = join(dir, 'password');
    writeFileSync(file, 'old-password\n');
    fake = await FakeAirflow.start({ api: 'v1', password: 'new-password' });
    fake.addDag({ dag_id: 'etl' });
    const client = new AirflowClient({
      baseUrl: fake.url,
      api: 'v1',
      auth: airflowAuth(
        { kind: 'basic', username: fake.credentials.username, password: { file } },
        { baseUrl: fake.url, timeoutMs: 2000 },
      ),
      retries: 0,
    });
    const e = await caught(client.dagDetails('etl'));
    expect(e.code).toBe('AIRFLOW_AUTH_FAILED');
    writeFileSync(file, 'new-password-and-more\n');
    writeFileSync(file, 'new-password\n');
    expect((await client.dagDetails('etl')).dagId).toBe('etl');
  });

  it('takes a secret from a command and names the source when it fails', async () => {
    fake = await FakeAirflow.start({ api: 'v1' });
    fake.addDag({ dag_id: 'etl' });
    const ok = new AirflowClient({
      baseUrl: fake.url,
      api: 'v1',
      auth: airflowAuth(
        {
          kind: 'basic',
          username: fake.credentials.username,
          password: {
            command: [
              'node',
              '-e',
              `process.stdout.write(${JSON.stringify(`${fake.credentials.password}\n`)})`,
            ],
            cacheMs: 60_000,
          },
        },
        { baseUrl: fake.url, timeoutMs: 5000 },
      ),
    });
    expect((await ok.dagDetails('etl')).dagId).toBe('etl');
    const bad = new AirflowClient({
      baseUrl: fake.url,
      api: 'v1',
      auth: airflowAuth(
        {
          kind: 'basic',
          username: 'u',
          password: { command: ['node', '-e', 'process.exit(3)'], cacheMs: 0 },
        },
        { baseUrl: fake.url, timeoutMs: 5000 },
      ),
    });
    const e = await caught(bad.dagDetails('etl'));
    expect(e.code).toBe('AIRFLOW_CREDENTIAL_UNAVAILABLE');
    expect(e.message).toBe('the Airflow credential from command node failed (3)');
  });

  it('says which variable to set when an env credential is missing', async () => {
    const auth = airflowAuth(
      { kind: 'basic', username: 'u', password: { env: 'NOPE_PW' } },
      { baseUrl: 'http://127.0.0.1:1', timeoutMs: 100, env: {} },
    );
    const e = await caught(auth.header());
    expect(e.code).toBe('AIRFLOW_CREDENTIAL_UNAVAILABLE');
    expect(e.message).toBe(
      "the Airflow credential from env NOPE_PW is not set: export NOPE_PW in the server's environment",
    );
  });
});
