/**
 * The proxy as an HTTP intermediary: Airclutch's credential replaces the caller's, hop-by-hop
 * headers stay on their hop, `X-Forwarded-*` tell Airflow where the call came from, Airflow's
 * answer comes back with its status and headers, and a slow Airflow is a 504.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { endToEndHeaders } from '../../src/proxy/end-to-end-headers.ts';
import { type ProxyWorld, startProxyWorld } from './proxy-world.ts';

let w: ProxyWorld | undefined;
afterEach(async () => {
  expect(w?.staging.violations ?? []).toEqual([]);
  await w?.close();
  w = undefined;
});

function send(base: string, path: string, headers: Record<string, string>) {
  const u = new URL(base);
  return new Promise<{ status: number; headers: Record<string, unknown>; text: string }>(
    (resolve, reject) => {
      const req = request({ host: u.hostname, port: u.port, method: 'GET', path, headers }, (res) => {
        let text = '';
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      });
      req.on('error', reject);
      req.end();
    },
  );
}

// Each test starts two Airflows, an IdP and a server: on a loaded 2-core machine that alone can take
// most of the default 30 s.
describe('the Airflow proxy as an HTTP intermediary', { timeout: 120_000 }, () => {
  it("never forwards the caller's token and strips hop-by-hop headers", async () => {
    w = await startProxyWorld();
    const eng = await w.h.token('eng@example.com');
    const res = await send(w.h.base, '/airflow/staging/api/v2/dags/ci_build', {
      authorization: `Bearer ${eng}`,
      connection: 'keep-alive, x-hop',
      'x-hop': 'secret-hop',
      'keep-alive': 'timeout=5',
      te: 'trailers',
      'proxy-authorization': 'Basic Zm9vOmJhcg==',
      'x-forwarded-for': '203.0.113.9',
      cookie: 'airclutch_session=abc',
      'x-end-to-end': 'kept',
      accept: 'application/json',
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toMatchObject({ dag_id: 'ci_build' });
    const seen = w.staging.requestHeaders.at(-1)!;
    expect(seen.authorization).toMatch(/^Bearer /);
    expect(seen.authorization).not.toContain(eng);
    for (const h of ['x-hop', 'te', 'proxy-authorization', 'cookie']) expect(seen[h], h).toBeUndefined();
    expect(seen['x-end-to-end']).toBe('kept');
    expect(seen['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen['x-forwarded-proto']).toBe('http');
    expect(seen['x-forwarded-prefix']).toBe('/airflow/staging');
    expect(seen['x-forwarded-host']).toBe(new URL(w.h.base).host);
    expect(seen['x-request-id']).toBe(res.headers['x-request-id']);
  });

  it("passes Airflow's error answers back with Airflow's status and body", async () => {
    w = await startProxyWorld();
    const eng = await w.h.token('eng@example.com');
    const res = await w.h.call('GET', '/airflow/staging/api/v2/dags/ci_build/dagRuns/nope', { token: eng });
    expect(res.status).toBe(404);
    expect(res.json).toEqual({
      detail: 'The DagRun with dag_id: `ci_build` and run_id: `nope` was not found',
    });
  });

  it('answers 504 when Airflow does not answer in time', async () => {
    w = await startProxyWorld({ proxy: { timeoutMs: 200 } });
    const eng = await w.h.token('eng@example.com');
    w.staging.faults.delayMs = 3_000;
    const res = await w.h.call('GET', '/airflow/staging/api/v2/dags/ci_build', { token: eng });
    w.staging.faults.delayMs = 0;
    expect(res.status).toBe(504);
    expect(res.json).toMatchObject({ code: 'AIRFLOW_TIMEOUT', detail: expect.stringContaining('200 ms') });
  });

  it('streams a large task log: the first bytes reach the caller before Airflow has finished sending it', async () => {
    w = await startProxyWorld();
    const run = w.staging.scheduleRun('customer_export', '2026-01-01T00:00:00Z', 'failed');
    for (let i = 0; i < 5_000; i++) {
      w.staging.appendLog('customer_export', run.dag_run_id, 'extract', `line ${i} ${'x'.repeat(200)}`);
    }
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    w.staging.faults.splitLog = { firstBytes: 64 * 1024, release: released };
    // If the proxy buffered, nothing would come before the release: this fallback ends the wait.
    const fallback = setTimeout(release, 20_000);
    const eng = await w.h.token('eng@example.com');
    const u = new URL(w.h.base);
    const got = await new Promise<{ status: number; beforeRelease: number; text: string }>(
      (resolve, reject) => {
        const path = `/airflow/staging/api/v2/dags/customer_export/dagRuns/${encodeURIComponent(run.dag_run_id)}/taskInstances/extract/logs/1`;
        const req = request(
          {
            host: u.hostname,
            port: u.port,
            path,
            headers: { authorization: `Bearer ${eng}`, accept: 'application/json' },
          },
          (res) => {
            let text = '';
            let beforeRelease = 0;
            let upstreamDone = false;
            void released.then(() => {
              upstreamDone = true;
            });
            res.setEncoding('utf8');
            res.on('data', (c: string) => {
              if (!upstreamDone) {
                beforeRelease += c.length;
                release();
              }
              text += c;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, beforeRelease, text }));
          },
        );
        req.on('error', reject);
        req.end();
      },
    );
    clearTimeout(fallback);
    expect(got.status).toBe(200);
    expect(got.beforeRelease).toBeGreaterThan(0);
    expect(got.beforeRelease).toBeLessThanOrEqual(64 * 1024);
    const body = JSON.parse(got.text) as { content: { event: string }[] };
    expect(body.content.length).toBeGreaterThanOrEqual(5_000);
    expect(body.content[4_999]?.event).toContain('line 4999');
  });

  it('answers 503 when Airflow is down', async () => {
    w = await startProxyWorld();
    const eng = await w.h.token('eng@example.com');
    await w.staging.stop();
    const res = await w.h.call('GET', '/airflow/staging/api/v2/dags/ci_build', { token: eng });
    expect(res.status).toBe(503);
    expect(res.json.code).toBe('AIRFLOW_UNREACHABLE');
    await w.staging.restart();
  });

  it('removes every header Connection names, and the fixed hop-by-hop set', () => {
    expect(
      endToEndHeaders(
        {
          connection: 'close, X-Trace',
          'x-trace': '1',
          'keep-alive': 'timeout=5',
          'transfer-encoding': 'chunked',
          upgrade: 'h2c',
          trailer: 'x',
          'proxy-connection': 'keep-alive',
          'content-type': 'application/json',
        },
        ['set-cookie'],
      ),
    ).toEqual({ 'content-type': 'application/json' });
  });
});
