/**
 * The proxy in front of an Airflow 2.10 (`/api/v1`), with requests shaped like the v1 Python client's
 * and curl's: the same decisions, filtering and gate as on v2.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.ts';
import { type ProxyWorld, PYTHON_CLIENT_HEADERS, startProxyWorld } from './proxy-world.ts';

let w: ProxyWorld | undefined;
afterEach(async () => {
  expect(w?.staging.violations ?? []).toEqual([]);
  expect(w?.prod.violations ?? []).toEqual([]);
  await w?.close();
  w = undefined;
});

// Each test starts two Airflows, an IdP and a server: on a loaded 2-core machine that alone can take
// most of the default 30 s.
describe('the Airflow proxy in front of Airflow 2 (v1)', { timeout: 120_000 }, () => {
  it('serves /api/v1: filtered DAG lists, gated triggers, refused variables', async () => {
    w = await startProxyWorld({ api: 'v1' });
    const ci = await w.h.idp.serviceToken();
    const dags = await w.h.call('GET', '/airflow/staging/api/v1/dags?limit=100', {
      token: ci,
      headers: PYTHON_CLIENT_HEADERS,
    });
    expect(dags.status).toBe(200);
    expect(dags.json).toMatchObject({ total_entries: 1, dags: [{ dag_id: 'ci_build' }] });
    const trig = await w.h.call('POST', '/airflow/staging/api/v1/dags/ci_build/dagRuns', {
      token: ci,
      headers: { 'user-agent': 'curl/8.5.0', accept: '*/*', 'content-type': 'application/json' },
      body: { conf: { branch: 'v1-branch' } },
    });
    expect(trig.status).toBe(200);
    expect(trig.json).toMatchObject({ dag_id: 'ci_build', state: 'queued', conf: { branch: 'v1-branch' } });
    const remote = await eventually(
      () => w!.staging.run('ci_build', trig.json.dag_run_id),
      (r) => r !== undefined,
    );
    expect(remote?.logical_date).not.toBeNull();
    const prod = await w.h.call('POST', '/airflow/prod/api/v1/dags/ci_build/dagRuns', {
      token: ci,
      headers: { ...PYTHON_CLIENT_HEADERS, 'content-type': 'application/json' },
      body: { conf: {} },
    });
    expect(prod.status).toBe(202);
    const vars = await w.h.call('GET', '/airflow/staging/api/v1/variables', { token: ci });
    expect(vars.status).toBe(403);
    expect(vars.json.code).toBe('POLICY_DENIED');
    const v2Path = await w.h.call('GET', '/airflow/staging/api/v2/dags', { token: ci });
    expect(v2Path.status).toBe(404);
  });
});
