/**
 * Clearing task instances by date range through the proxy, against contract-validating fake
 * Airflows: the proxy asks Airflow which runs the range covers, decides `clearTask` on each, and
 * forwards only when every one is allowed; a denial names the run, and nothing reaches Airflow.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { queryAudit } from '../../src/audit/query-audit.ts';
import { type ProxyWorld, PYTHON_CLIENT_HEADERS, startProxyWorld } from './proxy-world.ts';

let w: ProxyWorld | undefined;
afterEach(async () => {
  expect(w?.staging.violations ?? []).toEqual([]);
  await w?.close();
  w = undefined;
});

const json = { ...PYTHON_CLIENT_HEADERS, 'content-type': 'application/json' };
const DAY = (d: number) => `2026-01-0${d}T00:00:00.000Z`;

function clears(fake: ProxyWorld['staging']) {
  return fake.requests.filter((r) => r.path.endsWith('/clearTaskInstances'));
}

describe('clearing task instances by date range through the proxy', { timeout: 120_000 }, () => {
  for (const api of ['v2', 'v1'] as const) {
    it(`decides clearTask on every run the range covers and forwards when all are allowed (${api})`, async () => {
      w = await startProxyWorld({ api });
      for (const d of [1, 2, 4]) w.staging.scheduleRun('customer_export', DAY(d), 'failed');
      const eng = await w.h.token('eng@example.com');
      const res = await w.h.call(
        'POST',
        `/airflow/staging/api/${api}/dags/customer_export/clearTaskInstances`,
        {
          token: eng,
          headers: json,
          body: { start_date: DAY(1), end_date: DAY(2), only_failed: true, dry_run: false },
        },
      );
      expect(res.status).toBe(200);
      const cleared = new Set(res.json.task_instances.map((t: { dag_run_id: string }) => t.dag_run_id));
      expect([...cleared].sort()).toEqual([`scheduled__${DAY(1)}`, `scheduled__${DAY(2)}`]);
      expect(w.staging.run('customer_export', `scheduled__${DAY(4)}`)?.state).toBe('failed');
      const { records } = await queryAudit(w.h.world.db, { action: 'airflow.proxy' });
      const allowed = records.find((r) => r.outcome === 'allowed' && r.details?.range);
      expect(allowed?.details).toMatchObject({
        runs: [`scheduled__${DAY(1)}`, `scheduled__${DAY(2)}`],
        range: { start: DAY(1), end: DAY(2) },
      });
    });
  }

  it('refuses the whole clear, naming the run, when one run in the range is denied, and sends nothing', async () => {
    w = await startProxyWorld();
    for (const d of [1, 2, 3, 4]) w.staging.scheduleRun('customer_export', DAY(d), 'failed');
    const eng = await w.h.token('eng@example.com');
    const before = clears(w.staging).length;
    const res = await w.h.call('POST', '/airflow/staging/api/v2/dags/customer_export/clearTaskInstances', {
      token: eng,
      headers: json,
      body: { start_date: DAY(2), end_date: DAY(4), dry_run: false },
    });
    expect(res.status).toBe(403);
    expect(res.json.code).toBe('POLICY_DENIED');
    expect(res.json.detail).toContain(`run scheduled__${DAY(3)} of staging/customer_export`);
    expect(res.json.detail).toContain('one of the 3 runs this clear covers');
    expect(res.json.detail).toContain('kept as it ended for an audit');
    expect(clears(w.staging).length).toBe(before);
    for (const d of [2, 3, 4])
      expect(w.staging.run('customer_export', `scheduled__${DAY(d)}`)?.state).toBe('failed');
    const { records } = await queryAudit(w.h.world.db, { action: 'airflow.proxy' });
    expect(records.find((r) => r.outcome === 'denied')).toMatchObject({
      resource: { runId: `scheduled__${DAY(3)}` },
      details: { runs: [`scheduled__${DAY(2)}`, `scheduled__${DAY(3)}`, `scheduled__${DAY(4)}`] },
    });
  });

  it('treats a named run with include_past as the range up to that run', async () => {
    w = await startProxyWorld();
    for (const d of [1, 2, 3]) w.staging.scheduleRun('customer_export', DAY(d), 'failed');
    const eng = await w.h.token('eng@example.com');
    // Up to day 3 covers the run kept for the audit: refused, although the named run alone is allowed.
    const past = await w.h.call('POST', '/airflow/staging/api/v2/dags/customer_export/clearTaskInstances', {
      token: eng,
      headers: json,
      body: { dag_run_id: `scheduled__${DAY(3)}`, include_past: true, dry_run: false },
    });
    expect(past.status).toBe(403);
    const upTo2 = await w.h.call('POST', '/airflow/staging/api/v2/dags/customer_export/clearTaskInstances', {
      token: eng,
      headers: json,
      body: { dag_run_id: `scheduled__${DAY(2)}`, include_past: true, dry_run: false },
    });
    expect(upTo2.status).toBe(200);
    expect(upTo2.json.total_entries).toBe(4);
    expect(w.staging.run('customer_export', `scheduled__${DAY(3)}`)?.state).toBe('failed');
  });

  it('refuses a caller who may not clear some run of the range: the CI service', async () => {
    w = await startProxyWorld();
    w.staging.scheduleRun('ci_build', DAY(1), 'failed');
    const ci = await w.h.idp.serviceToken();
    const before = clears(w.staging).length;
    const res = await w.h.call('POST', '/airflow/staging/api/v2/dags/ci_build/clearTaskInstances', {
      token: ci,
      headers: json,
      body: { start_date: DAY(1), end_date: DAY(1), dry_run: false },
    });
    expect(res.status).toBe(403);
    expect(res.json.detail).toContain(`run scheduled__${DAY(1)} of staging/ci_build`);
    expect(clears(w.staging).length).toBe(before);
  });
});
