/**
 * Every call through the proxy is a record (who, operation, resource, decision, Airflow's status).
 * Reads can be aggregated or sampled by configuration; writes are always recorded one by one, the
 * decision before Airflow is asked, and their body values only as HMACs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { queryAudit } from '../../src/audit/query-audit.ts';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { type ProxyWorld, startProxyWorld } from './proxy-world.ts';

let w: ProxyWorld | undefined;
afterEach(async () => {
  expect(w?.staging.violations ?? []).toEqual([]);
  await w?.close();
  w = undefined;
});

async function proxyRecords(world: ProxyWorld) {
  return (await queryAudit(world.h.world.db, { action: 'airflow.proxy' })).records;
}

// Each test starts two Airflows, an IdP and a server: on a loaded 2-core machine that alone can take
// most of the default 30 s.
describe('the audit trail of proxied calls', { timeout: 120_000 }, () => {
  it('records each read with who, which operation, which resource and Airflow status', async () => {
    w = await startProxyWorld();
    const eng = await w.h.token('eng@example.com');
    await w.h.call('GET', '/airflow/staging/api/v2/dags/ci_build', { token: eng });
    const [r] = (await proxyRecords(w)).filter((x) => x.details?.operation === 'get_dag');
    expect(r).toMatchObject({
      actor: { kind: 'user', id: 'eng@example.com' },
      resource: { env: 'staging', dagId: 'ci_build' },
      outcome: 'airflow 200',
      details: { operation: 'get_dag', method: 'GET', airflowStatus: 200, params: { dag_id: 'ci_build' } },
    });
  });

  it('aggregates reads per caller, operation and answer when configured, and still records writes one by one', async () => {
    w = await startProxyWorld({
      proxy: { auditReads: { mode: 'aggregate', sampleRate: 0.1, windowMs: 60_000 } },
    });
    const eng = await w.h.token('eng@example.com');
    for (let i = 0; i < 3; i++)
      await w.h.call('GET', '/airflow/staging/api/v2/dags/ci_build', { token: eng });
    expect((await proxyRecords(w)).filter((x) => x.details?.operation === 'get_dag')).toEqual([]);
    await w.h.call('PATCH', '/airflow/staging/api/v2/dags/customer_export?update_mask=is_paused', {
      token: eng,
      body: { is_paused: true },
    });
    expect((await proxyRecords(w)).filter((x) => x.details?.operation === 'patch_dag')).toHaveLength(1);
    await w.h.app.close();
    const reads = (await proxyRecords(w)).filter((x) => x.details?.operation === 'get_dag');
    expect(reads).toHaveLength(1);
    expect(reads[0]?.details).toMatchObject({ count: 3, aggregated: true });
  });

  it('samples reads when configured: a rate of 0 records none', async () => {
    w = await startProxyWorld({ proxy: { auditReads: { mode: 'sample', sampleRate: 0, windowMs: 60_000 } } });
    const eng = await w.h.token('eng@example.com');
    for (let i = 0; i < 3; i++)
      await w.h.call('GET', '/airflow/staging/api/v2/dags/ci_build', { token: eng });
    expect((await proxyRecords(w)).filter((x) => x.details?.operation === 'get_dag')).toEqual([]);
  });

  it('records an admin write before Airflow is asked, with its body values as HMACs only', async () => {
    w = await startProxyWorld();
    const eng = await w.h.token('eng@example.com');
    // No permit for writeVariables: refused and recorded, nothing sent.
    const before = w.staging.requests.length;
    const denied = await w.h.call('POST', '/airflow/staging/api/v2/variables', {
      token: eng,
      body: { key: 'db_password', value: 'hunter2' },
    });
    expect(denied.status).toBe(403);
    expect(w.staging.requests.slice(before)).toEqual([]);
    const records = await proxyRecords(w);
    const refusal = records.find((x) => x.details?.operation === 'post_variable');
    expect(refusal).toMatchObject({ outcome: 'denied', decision: { effect: 'deny' } });
    const lead = await w.h.token('lead@example.com');
    const made = await w.h.call('POST', '/airflow/staging/api/v2/variables', {
      token: lead,
      headers: { 'user-agent': 'OpenAPI-Generator/3.0.2/python', accept: 'application/json' },
      body: { key: 'db_password', value: 'hunter2' },
    });
    expect(made.status).toBe(201);
    expect(w.staging.variables.get('db_password')?.value).toBe('hunter2');
    const writes = (await proxyRecords(w)).filter(
      (x) => x.details?.operation === 'post_variable' && x.actor?.id === 'lead@example.com',
    );
    expect(writes.map((x) => x.outcome)).toEqual(['allowed', 'airflow 201']);
    expect(writes[0]?.params).toMatchObject({
      key: expect.stringMatching(/^hmac:/),
      value: expect.stringMatching(/^hmac:/),
    });
    expect(JSON.stringify(await proxyRecords(w))).not.toContain('hunter2');
    expect(await verifyChain(w.h.world.db)).toMatchObject({ ok: true });
  });
});
