/**
 * Bad input through the proxy gets clean 4xx answers, and nothing reaches Airflow for a request
 * that was refused: unknown paths, path traversal in `dag_id`, huge bodies, missing tokens, and
 * operations refused on purpose or missing from the route table.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { queryAudit } from '../../src/audit/query-audit.ts';
import { RULES } from '../../src/proxy/proxy-rules.ts';
import { type ProxyWorld, startProxyWorld } from './proxy-world.ts';

let w: ProxyWorld | undefined;
afterEach(async () => {
  expect(w?.staging.violations ?? []).toEqual([]);
  await w?.close();
  w = undefined;
});

/** A request sent byte for byte as written: no client-side URL normalisation (curl --path-as-is). */
function raw(base: string, method: string, path: string, headers: Record<string, string> = {}) {
  const u = new URL(base);
  return new Promise<{ status: number; json: any }>((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      let text = '';
      res.on('data', (c) => {
        text += c;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

// Each test starts two Airflows, an IdP and a server: on a loaded 2-core machine that alone can take
// most of the default 30 s.
describe('bad input through the Airflow proxy', { timeout: 120_000 }, () => {
  it('refuses path traversal in dag_id, raw or encoded, before Airflow sees it', async () => {
    w = await startProxyWorld();
    const eng = await w.h.token('eng@example.com');
    const auth = { authorization: `Bearer ${eng}` };
    const before = w.staging.requests.length;
    for (const path of [
      '/airflow/staging/api/v2/dags/%2e%2e',
      '/airflow/staging/api/v2/dags/..%2Fvariables',
      '/airflow/staging/api/v2/dags/%2E%2E%2Fvariables/details',
      '/airflow/staging/api/v2/dags/ci_build%2F..%2F..%2Fvariables',
    ]) {
      const res = await raw(w.h.base, 'GET', path, auth);
      expect(res.status, path).toBe(400);
      expect(res.json).toMatchObject({
        code: 'PROXY_PATH_INVALID',
        detail: expect.stringContaining('dag_id'),
      });
    }
    const dotted = await raw(w.h.base, 'GET', '/airflow/staging/api/v2/dags/../variables', auth);
    expect(dotted.status).toBe(404);
    expect(dotted.json.code).toBe('NOT_FOUND');
    const all = await raw(w.h.base, 'GET', '/airflow/staging/api/v2/dags/~', auth);
    expect(all.status).toBe(400);
    expect(w.staging.requests.slice(before)).toEqual([]);
  });

  it('answers unknown paths and environments with 404 problems', async () => {
    w = await startProxyWorld();
    const eng = await w.h.token('eng@example.com');
    const before = w.staging.requests.length;
    const unknown = await w.h.call('GET', '/airflow/staging/api/v2/not-an-operation', { token: eng });
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({
      code: 'NOT_FOUND',
      detail: expect.stringContaining('no Airflow v2 operation'),
    });
    expect(unknown.headers.get('content-type')).toContain('application/problem+json');
    const otherApi = await w.h.call('GET', '/airflow/staging/api/v1/dags', { token: eng });
    expect(otherApi.status).toBe(404);
    const noEnv = await w.h.call('GET', '/airflow/qa/api/v2/dags', { token: eng });
    expect(noEnv.status).toBe(404);
    const localEnv = await w.h.call('GET', '/airflow/dev/api/v2/dags', { token: eng });
    expect(localEnv.status).toBe(404);
    expect(w.staging.requests.slice(before)).toEqual([]);
  });

  it('refuses a body over the limit with 413 and sends nothing', async () => {
    w = await startProxyWorld({ proxy: { bodyLimitBytes: 2_048 } });
    const eng = await w.h.token('eng@example.com');
    const before = w.staging.requests.length;
    const res = await w.h.call('POST', '/airflow/staging/api/v2/variables', {
      token: eng,
      body: { key: 'big', value: 'x'.repeat(10_000) },
    });
    expect(res.status).toBe(413);
    expect(res.json.code).toBe('PAYLOAD_TOO_LARGE');
    expect(w.staging.requests.slice(before)).toEqual([]);
  });

  it('refuses callers without a valid token with the API error codes', async () => {
    w = await startProxyWorld();
    const before = w.staging.requests.length;
    const none = await w.h.call('GET', '/airflow/staging/api/v2/dags');
    expect(none.status).toBe(401);
    expect(none.json.code).toBe('TOKEN_MISSING');
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    const bad = await w.h.call('GET', '/airflow/staging/api/v2/dags', { token: 'not.a.jwt' });
    expect(bad.status).toBe(401);
    expect(bad.json.code).toBe('TOKEN_MALFORMED');
    const basic = await w.h.call('GET', '/airflow/staging/api/v2/dags', {
      headers: { authorization: 'Basic YWlyZmxvdzphaXJmbG93' },
    });
    expect(basic.status).toBe(401);
    expect(w.staging.requests.slice(before)).toEqual([]);
  });

  it('refuses an operation denied on purpose, naming it and why, and records the refusal', async () => {
    w = await startProxyWorld();
    const eng = await w.h.token('eng@example.com');
    const before = w.staging.requests.length;
    const res = await w.h.call('DELETE', '/airflow/staging/api/v2/dags/ci_build', { token: eng });
    expect(res.status).toBe(403);
    expect(res.json).toMatchObject({ code: 'PROXY_OPERATION_DENIED', details: { operation: 'delete_dag' } });
    expect(res.json.detail).toContain('delete_dag');
    const backfill = await w.h.call('POST', '/airflow/staging/api/v2/backfills', {
      token: eng,
      body: { dag_id: 'ci_build', from_date: '2024-01-01T00:00:00Z', to_date: '2024-01-02T00:00:00Z' },
    });
    expect(backfill.json.detail).toContain('outside the gate');
    expect(w.staging.requests.slice(before)).toEqual([]);
    const { records } = await queryAudit(w.h.world.db, { action: 'airflow.proxy' });
    expect(records.map((r) => [r.outcome, r.details?.operation])).toEqual(
      expect.arrayContaining([
        ['refused', 'delete_dag'],
        ['refused', 'create_backfill'],
      ]),
    );
  });

  it('denies an operation missing from the route table, naming it', async () => {
    const rules = RULES as Record<string, unknown>;
    const kept = rules.get_pools;
    delete rules.get_pools;
    try {
      w = await startProxyWorld();
    } finally {
      rules.get_pools = kept;
    }
    const eng = await w.h.token('eng@example.com');
    const before = w.staging.requests.length;
    const res = await w.h.call('GET', '/airflow/staging/api/v2/pools', { token: eng });
    expect(res.status).toBe(403);
    expect(res.json).toMatchObject({ code: 'PROXY_OPERATION_UNMAPPED', details: { operation: 'get_pools' } });
    expect(res.json.detail).toContain('get_pools (GET /pools)');
    expect(w.staging.requests.slice(before)).toEqual([]);
  });
});
