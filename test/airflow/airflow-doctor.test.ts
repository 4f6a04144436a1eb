/** `airclutch doctor` for Airflow environments, against the fake Airflow. */
import { afterEach, describe, expect, it } from 'vitest';
import { airflowConfigSchema } from '../../src/airflow/airflow-config.ts';
import { airflowDoctor } from '../../src/airflow/airflow-doctor.ts';
import { FakeAirflow } from './fake-airflow.ts';

let fake: FakeAirflow | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

function config(api: 'v1' | 'v2', f: FakeAirflow, password = f.credentials.password) {
  const auth =
    api === 'v2'
      ? { kind: 'password' as const, username: f.credentials.username, password: { env: 'AF_PW' } }
      : { kind: 'basic' as const, username: f.credentials.username, password: { env: 'AF_PW' } };
  return {
    rootDir: '/tmp',
    environments: {
      prod: {
        dags: [],
        policies: [],
        airflow: airflowConfigSchema.parse({ baseUrl: f.url, api, auth, retries: 0, requestTimeoutMs: 2000 }),
      },
    },
    env: { AF_PW: password },
  };
}

describe('airclutch doctor for Airflow', () => {
  it('reports reachability, version, token lifetime, DAG listing, trigger rights and clock on v2', async () => {
    fake = await FakeAirflow.start({ api: 'v2', tokenTtlSec: 1800 });
    fake.addDag({ dag_id: 'a' });
    const c = config('v2', fake);
    const findings = await airflowDoctor(c, { env: c.env });
    expect(findings.map((f) => [f.check, f.ok])).toEqual([
      ['reachable', true],
      ['clock', true],
      ['api version', true],
      ['authentication', true],
      ['list DAGs', true],
      ['trigger', true],
    ]);
    expect(findings.find((f) => f.check === 'authentication')?.detail).toMatch(
      /^password: a token was issued; it lives 1800 s and expires at \d{4}-/,
    );
    expect(findings.find((f) => f.check === 'trigger')?.detail).toBe(
      'the service account may create DAG runs (probe on a missing DAG answered 404)',
    );
    expect(fake.runs.size).toBe(0);
    expect(fake.violations).toEqual([]);
  });

  it('names a version mismatch with the fix', async () => {
    fake = await FakeAirflow.start({ api: 'v1' });
    const wrong = config('v1', fake);
    wrong.environments.prod.airflow = airflowConfigSchema.parse({
      ...wrong.environments.prod.airflow,
      api: 'v2',
    });
    const mismatch = await airflowDoctor(wrong, { env: wrong.env });
    const v = mismatch.find((f) => f.check === 'api version');
    expect(v?.ok).toBe(false);
    expect(v?.detail).toContain("set airflow.api to 'v1'");
  });

  it('names a service account without rights, with the fix', async () => {
    // v2: Airflow 2's /dags filters by permission and never answers 403.
    fake = await FakeAirflow.start({ api: 'v2' });
    const c = config('v2', fake);
    fake.faults.forbid = true;
    const forbidden = await airflowDoctor(c, { env: c.env });
    const list = forbidden.find((f) => f.check === 'list DAGs');
    expect(list?.ok).toBe(false);
    expect(list?.detail).toContain('answered 403');
    expect(list?.fix).toBe('give the service account read access to DAGs (docs/airflow.md)');
  });

  it('says Airflow is unreachable when it is down', async () => {
    fake = await FakeAirflow.start({ api: 'v2' });
    const c = config('v2', fake);
    await fake.stop();
    const findings = await airflowDoctor(c, { env: c.env });
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ check: 'reachable', ok: false });
    expect(findings[0]?.detail).toContain('ECONNREFUSED');
  });
});
