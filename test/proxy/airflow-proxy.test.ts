/**
 * The scenario through the proxy, against contract-validating fake Airflows (every request
 * and answer checked against the published document): a CI service identity with a
 * client-credentials token triggers one DAG in staging but not in prod, sees only its DAGs in
 * `GET /dags`, cannot read variables, and its prod trigger waits for approval.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { queryAudit } from '../../src/audit/query-audit.ts';
import { eventually } from '../helpers/eventually.ts';
import { type ProxyWorld, PYTHON_CLIENT_HEADERS, startProxyWorld } from './proxy-world.ts';

let w: ProxyWorld | undefined;
afterEach(async () => {
  expect(w?.staging.violations ?? []).toEqual([]);
  expect(w?.prod.violations ?? []).toEqual([]);
  await w?.close();
  w = undefined;
});

const json = { ...PYTHON_CLIENT_HEADERS, 'content-type': 'application/json' };

// Each test starts two Airflows, an IdP and a server: on a loaded 2-core machine that alone can take
// most of the default 30 s.
describe('the Airflow proxy', { timeout: 120_000 }, () => {
  it('lets the CI service trigger its DAG in staging and passes Airflow answer back unchanged', async () => {
    w = await startProxyWorld();
    const ci = await w.h.idp.serviceToken();
    const res = await w.h.call('POST', '/airflow/staging/api/v2/dags/ci_build/dagRuns', {
      token: ci,
      headers: json,
      body: { dag_run_id: 'build-42', logical_date: null, conf: { branch: 'feature/x' } },
    });
    expect(res.status).toBe(200);
    const remote = w.staging.run('ci_build', res.json.dag_run_id);
    expect(remote?.conf).toEqual({ branch: 'feature/x', api_token: 'none' });
    expect(res.json).toMatchObject({ dag_id: 'ci_build', state: 'queued', conf: remote?.conf });
    expect(res.json.dag_run_id).toMatch(/^airclutch__/);
    // Delivered once, by the bridge's executor, with Airclutch's own credential.
    expect(w.staging.requests.filter((r) => r.method === 'post' && r.path.endsWith('/dagRuns'))).toHaveLength(
      1,
    );
    const runId = res.json.dag_run_id.slice('airclutch__'.length);
    const run = await eventually(
      () => w!.h.world.db.kysely.selectFrom('runs').selectAll().where('id', '=', runId).executeTakeFirst(),
      (r) => r?.state === 'running',
    );
    expect(run).toMatchObject({ env: 'staging', dag_id: 'ci_build', requested_by: 'ci-bot', source: 'api' });
    const { records } = await queryAudit(w.h.world.db, { runId });
    expect(records.map((r) => `${r.action}:${r.outcome}`)).toEqual(
      expect.arrayContaining(['trigger:started', 'airflow.trigger:delivered', 'airflow.proxy:airflow 200']),
    );
    // The same dag_run_id again is Airflow's 409, and no second run.
    const again = await w.h.call('POST', '/airflow/staging/api/v2/dags/ci_build/dagRuns', {
      token: ci,
      headers: json,
      body: { dag_run_id: 'build-42', logical_date: null, conf: {} },
    });
    expect(again.status).toBe(409);
    // Airflow 3's shape for a duplicate run id: its unique-constraint handler's object.
    expect(again.json.detail).toMatchObject({ reason: 'Unique constraint violation' });
    expect(again.json.detail.message).toContain('build-42');
    expect(await w.h.runCount()).toBe(1);
  });

  it('passes a logical date the caller chose on to Airflow 3, and the run keeps it', async () => {
    w = await startProxyWorld();
    const ci = await w.h.idp.serviceToken();
    const logical = '2026-11-01T00:00:00Z';
    const res = await w.h.call('POST', '/airflow/staging/api/v2/dags/ci_build/dagRuns', {
      token: ci,
      headers: json,
      body: { dag_run_id: 'backfill-nov', logical_date: logical, conf: {} },
    });
    expect(res.status).toBe(200);
    const remote = w.staging.run('ci_build', res.json.dag_run_id);
    expect(new Date(remote!.logical_date!).toISOString()).toBe(new Date(logical).toISOString());
    const runId = (res.json.dag_run_id as string).slice('airclutch__'.length);
    const run = await w.h.world.db.kysely
      .selectFrom('runs')
      .selectAll()
      .where('id', '=', runId)
      .executeTakeFirst();
    expect(run?.logical_date).toBe(Date.parse(logical));
    // Without one, Airflow 3 is sent null and sets run_after itself, as its own clients do.
    const plain = await w.h.call('POST', '/airflow/staging/api/v2/dags/ci_build/dagRuns', {
      token: ci,
      headers: json,
      body: { logical_date: null, conf: {} },
    });
    expect(plain.status).toBe(200);
    expect(w.staging.run('ci_build', plain.json.dag_run_id)?.logical_date).toBeNull();
  });

  it("resolves the caller's own dag_run_id to its run in every run path, consistent with the trigger's answer", async () => {
    w = await startProxyWorld();
    const eng = await w.h.token('eng@example.com');
    const ci = await w.h.idp.serviceToken();
    const trig = await w.h.call('POST', '/airflow/staging/api/v2/dags/ci_build/dagRuns', {
      token: ci,
      headers: json,
      body: { dag_run_id: 'nightly-7', logical_date: null, conf: {} },
    });
    expect(trig.status).toBe(200);
    const canonical = trig.json.dag_run_id as string;
    // A poll by the id the client sent answers with the same run as the trigger's answer.
    const byAlias = await w.h.call('GET', '/airflow/staging/api/v2/dags/ci_build/dagRuns/nightly-7', {
      token: ci,
      headers: PYTHON_CLIENT_HEADERS,
    });
    expect(byAlias.status).toBe(200);
    expect(byAlias.json).toMatchObject({ dag_id: 'ci_build', dag_run_id: canonical, conf: trig.json.conf });
    expect(byAlias.headers.get('content-location')).toBe(
      `/airflow/staging/api/v2/dags/ci_build/dagRuns/${canonical}`,
    );
    const byId = await w.h.call('GET', `/airflow/staging/api/v2/dags/ci_build/dagRuns/${canonical}`, {
      token: ci,
      headers: PYTHON_CLIENT_HEADERS,
    });
    const { dag_versions: _a, ...aliasRun } = byAlias.json;
    const { dag_versions: _b, ...idRun } = byId.json;
    expect(aliasRun).toEqual(idRun);
    // Task instances and logs of that run resolve it too.
    const tis = await w.h.call(
      'GET',
      '/airflow/staging/api/v2/dags/ci_build/dagRuns/nightly-7/taskInstances',
      { token: eng, headers: PYTHON_CLIENT_HEADERS },
    );
    expect(tis.status).toBe(200);
    expect(tis.json.total_entries).toBe(w.staging.run('ci_build', canonical)!.tis.size);
    // The bridge's follower polls the same Airflow meanwhile: look among the requests since the call.
    const sent = w.staging.requests.length;
    const log = await w.h.call(
      'GET',
      '/airflow/staging/api/v2/dags/ci_build/dagRuns/nightly-7/taskInstances/extract/logs/1',
      { token: eng, headers: PYTHON_CLIENT_HEADERS },
    );
    expect(log.status).toBe(200);
    expect(w.staging.requests.slice(sent).map((r) => r.path)).toContain(
      `/api/v2/dags/ci_build/dagRuns/${canonical}/taskInstances/extract/logs/1`,
    );
    // The same id on another DAG, or an id never sent, is Airflow's own 404.
    const other = await w.h.call('GET', '/airflow/staging/api/v2/dags/customer_export/dagRuns/nightly-7', {
      token: eng,
      headers: PYTHON_CLIENT_HEADERS,
    });
    expect(other.status).toBe(404);
    // A cancel by the alias is the gate's cancel of that run.
    const cancel = await w.h.call('PATCH', '/airflow/staging/api/v2/dags/ci_build/dagRuns/nightly-7', {
      token: await w.h.idp.serviceToken(),
      headers: json,
      body: { state: 'failed' },
    });
    expect(cancel.status).toBe(200);
    expect(cancel.json).toMatchObject({ dag_run_id: canonical, state: 'failed' });
    expect(w.staging.run('ci_build', canonical)?.state).toBe('failed');
    const runId = canonical.slice('airclutch__'.length);
    const run = await w.h.world.db.kysely
      .selectFrom('runs')
      .selectAll()
      .where('id', '=', runId)
      .executeTakeFirst();
    expect(run?.state).toBe('cancelled');
    // Airclutch's prefix is not a caller's to choose.
    const reserved = await w.h.call('POST', '/airflow/staging/api/v2/dags/ci_build/dagRuns', {
      token: await w.h.idp.serviceToken(),
      headers: json,
      body: { dag_run_id: 'airclutch__mine', logical_date: null, conf: {} },
    });
    expect(reserved.status).toBe(400);
    expect(reserved.json.code).toBe('REQUEST_INVALID');
  });

  it("answers the CI service's prod trigger with 202, the approval's id and link, and sends nothing until it is approved", async () => {
    w = await startProxyWorld();
    const ci = await w.h.idp.serviceToken();
    const before = w.prod.requests.length;
    const res = await w.h.call('POST', '/airflow/prod/api/v2/dags/ci_build/dagRuns', {
      token: ci,
      headers: json,
      body: { logical_date: null, conf: { branch: 'release' } },
    });
    expect(res.status).toBe(202);
    expect(res.json.airclutch).toMatchObject({ outcome: 'awaiting_approval', quorum: 1 });
    expect(res.headers.get('location')).toBe(`/approvals/${res.json.airclutch.approval_id}`);
    expect(w.prod.requests.slice(before)).toEqual([]);
    const eng = await w.h.token('eng@example.com');
    const approval = await w.h.world.db.kysely
      .selectFrom('approval_requests')
      .selectAll()
      .where('id', '=', res.json.airclutch.approval_id)
      .executeTakeFirstOrThrow();
    const vote = await w.h.call('POST', `/api/v1/approvals/${approval.id}/approve`, {
      token: eng,
      body: { paramsHash: approval.params_hash, dagVersion: approval.dag_version },
    });
    expect(vote.status).toBeLessThan(300);
    const remoteId = res.json.dag_run_id;
    await eventually(
      () => w!.prod.run('ci_build', remoteId),
      (r) => r !== undefined,
    );
    expect(w.prod.run('ci_build', remoteId)?.conf).toMatchObject({ branch: 'release' });
  });

  it('refuses a trigger policy does not allow with 403, the reasons and what would allow it', async () => {
    w = await startProxyWorld();
    const ci = await w.h.idp.serviceToken();
    const before = w.staging.requests.length;
    const res = await w.h.call('POST', '/airflow/staging/api/v2/dags/customer_export/dagRuns', {
      token: ci,
      headers: json,
      body: { logical_date: null, conf: {} },
    });
    expect(res.status).toBe(404);
    expect(res.json.code).toBe('DAG_NOT_FOUND');
    const eng = await w.h.token('eng@example.com');
    const denied = await w.h.call('POST', '/airflow/staging/api/v2/dags/ci_build/dagRuns', {
      token: eng,
      headers: json,
      body: { logical_date: null, conf: {} },
    });
    expect(denied.status).toBe(403);
    expect(denied.json.code).toBe('POLICY_DENIED');
    expect(denied.json.detail).toContain('may not trigger staging/ci_build');
    expect(denied.json.details).toMatchObject({ action: 'trigger', wouldAllow: expect.any(Array) });
    expect(denied.json.details.wouldAllow.join(' ')).toContain('ci-bot');
    expect(w.staging.requests.slice(before)).toEqual([]);
  });

  it('validates conf against the DAG params schema before anything reaches Airflow', async () => {
    w = await startProxyWorld();
    const ci = await w.h.idp.serviceToken();
    const before = w.staging.requests.length;
    const res = await w.h.call('POST', '/airflow/staging/api/v2/dags/ci_build/dagRuns', {
      token: ci,
      headers: json,
      body: { logical_date: null, conf: { branch: 42 } },
    });
    expect(res.status).toBe(400);
    expect(res.json.code).toBe('PARAMS_INVALID');
    expect(res.json.detail).toContain('branch');
    expect(w.staging.requests.slice(before)).toEqual([]);
  });

  it('shows the CI service only its DAGs, with total_entries and paging consistent', async () => {
    w = await startProxyWorld({ extraDags: 150 });
    const ci = await w.h.idp.serviceToken();
    const res = await w.h.call('GET', '/airflow/staging/api/v2/dags?limit=10&offset=0', {
      token: ci,
      headers: PYTHON_CLIENT_HEADERS,
    });
    expect(res.status).toBe(200);
    expect(res.json.total_entries).toBe(1);
    expect(res.json.dags.map((d: { dag_id: string }) => d.dag_id)).toEqual(['ci_build']);
    const eng = await w.h.token('eng@example.com');
    const page2 = await w.h.call('GET', '/airflow/staging/api/v2/dags?limit=50&offset=100', { token: eng });
    expect(page2.json.total_entries).toBe(153);
    expect(page2.json.dags).toHaveLength(50);
    const last = await w.h.call('GET', '/airflow/staging/api/v2/dags?limit=50&offset=150', { token: eng });
    expect(last.json.dags).toHaveLength(3);
  });

  it('refuses the CI service Airflow variables, and lets an engineer read them', async () => {
    w = await startProxyWorld();
    const ci = await w.h.idp.serviceToken();
    const before = w.staging.requests.length;
    const res = await w.h.call('GET', '/airflow/staging/api/v2/variables', {
      token: ci,
      headers: PYTHON_CLIENT_HEADERS,
    });
    expect(res.status).toBe(403);
    expect(res.json).toMatchObject({ code: 'POLICY_DENIED' });
    expect(res.json.detail).toContain('readVariables');
    expect(w.staging.requests.slice(before)).toEqual([]);
    w.staging.variables.set('region', { key: 'region', value: 'eu', description: null, is_encrypted: false });
    const eng = await w.h.token('eng@example.com');
    const ok = await w.h.call('GET', '/airflow/staging/api/v2/variables', { token: eng });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ total_entries: 1, variables: [{ key: 'region', value: 'eu' }] });
  });

  it('masks sensitive conf values for callers who did not request the run', async () => {
    w = await startProxyWorld();
    const ci = await w.h.idp.serviceToken();
    const res = await w.h.call('POST', '/airflow/staging/api/v2/dags/ci_build/dagRuns', {
      token: ci,
      headers: json,
      body: { logical_date: null, conf: { branch: 'main', api_token: 's3cr3t' } },
    });
    const id = res.json.dag_run_id;
    const own = await w.h.call('GET', `/airflow/staging/api/v2/dags/ci_build/dagRuns/${id}`, { token: ci });
    expect(own.json.conf).toEqual({ branch: 'main', api_token: 's3cr3t' });
    const eng = await w.h.token('eng@example.com');
    const other = await w.h.call('GET', `/airflow/staging/api/v2/dags/ci_build/dagRuns/${id}`, {
      token: eng,
    });
    expect(other.json.conf).toEqual({ branch: 'main', api_token: '••••••' });
    const list = await w.h.call('GET', '/airflow/staging/api/v2/dags/~/dagRuns', { token: eng });
    expect(list.json).toMatchObject({ total_entries: 1, dag_runs: [{ conf: { api_token: '••••••' } }] });
    const { records } = await queryAudit(w.h.world.db, { action: 'airflow.proxy' });
    expect(JSON.stringify(records)).not.toContain('s3cr3t');
  });

  it('cancels a run through the gate when it is patched to failed', async () => {
    w = await startProxyWorld();
    const ci = await w.h.idp.serviceToken();
    const res = await w.h.call('POST', '/airflow/staging/api/v2/dags/ci_build/dagRuns', {
      token: ci,
      headers: json,
      body: { logical_date: null, conf: {} },
    });
    const id = res.json.dag_run_id;
    const cancel = await w.h.call('PATCH', `/airflow/staging/api/v2/dags/ci_build/dagRuns/${id}`, {
      token: ci,
      headers: json,
      body: { state: 'failed' },
    });
    expect(cancel.status).toBe(200);
    expect(cancel.json).toMatchObject({ dag_run_id: id, state: 'failed' });
    const run = await w.h.world.db.kysely
      .selectFrom('runs')
      .select('state')
      .where('id', '=', id.slice('airclutch__'.length))
      .executeTakeFirstOrThrow();
    expect(run.state).toBe('cancelled');
    const success = await w.h.call('PATCH', `/airflow/staging/api/v2/dags/ci_build/dagRuns/${id}`, {
      token: ci,
      headers: json,
      body: { state: 'success' },
    });
    expect(success.status).toBe(403);
    expect(success.json.code).toBe('PROXY_OPERATION_DENIED');
  });

  it("pauses through the bridge's pause and answers an unpause that needs approval with 202", async () => {
    w = await startProxyWorld();
    const eng = await w.h.token('eng@example.com');
    const pause = await w.h.call(
      'PATCH',
      '/airflow/staging/api/v2/dags/customer_export?update_mask=is_paused',
      {
        token: eng,
        headers: json,
        body: { is_paused: true },
      },
    );
    expect(pause.status).toBe(200);
    expect(pause.json).toMatchObject({ dag_id: 'customer_export', is_paused: true });
    expect(w.staging.dags.get('customer_export')?.is_paused).toBe(true);
    const unpause = await w.h.call(
      'PATCH',
      '/airflow/staging/api/v2/dags/revenue_daily?update_mask=is_paused',
      {
        token: eng,
        headers: json,
        body: { is_paused: false },
      },
    );
    expect(unpause.status).toBe(202);
    expect(unpause.json.airclutch.outcome).toBe('awaiting_approval');
    expect(w.staging.dags.get('revenue_daily')?.is_paused).toBe(true);
  });

  it("clears a failed task through Cedar's clearTask and reopens the failed run, which the bridge follows again", async () => {
    w = await startProxyWorld({ pollIntervalMs: 100 });
    w.staging.dags.get('ci_build')!.outcome = 'failed';
    const ci = await w.h.idp.serviceToken();
    const res = await w.h.call('POST', '/airflow/staging/api/v2/dags/ci_build/dagRuns', {
      token: ci,
      headers: json,
      body: { logical_date: null, conf: {} },
    });
    const remoteId = res.json.dag_run_id as string;
    const runId = remoteId.slice('airclutch__'.length);
    w.staging.step();
    w.staging.step();
    const state = () =>
      w!.h.world.db.kysely
        .selectFrom('runs')
        .select('state')
        .where('id', '=', runId)
        .executeTakeFirstOrThrow();
    await eventually(state, (r) => r.state === 'failed');
    const body = {
      dag_run_id: remoteId,
      task_ids: ['load'],
      only_failed: true,
      dry_run: false,
      reset_dag_runs: true,
    };
    const before = w.staging.requests.length;
    const refused = await w.h.call('POST', '/airflow/staging/api/v2/dags/ci_build/clearTaskInstances', {
      token: ci,
      headers: json,
      body,
    });
    expect(refused.status).toBe(403);
    expect(refused.json.detail).toContain('clearTask');
    expect(w.staging.requests.slice(before).filter((r) => r.path.endsWith('clearTaskInstances'))).toEqual([]);
    const eng = await w.h.token('eng@example.com');
    const cleared = await w.h.call('POST', '/airflow/staging/api/v2/dags/ci_build/clearTaskInstances', {
      token: eng,
      headers: json,
      body,
    });
    expect(cleared.status).toBe(200);
    expect(cleared.json.task_instances.map((t: { task_id: string }) => t.task_id)).toEqual(['load']);
    expect((await state()).state).toBe('running');
    w.staging.dags.get('ci_build')!.outcome = 'success';
    w.staging.step();
    w.staging.step();
    await eventually(state, (r) => r.state === 'success');
  });

  it('lists only the import errors of files holding DAGs the caller may view', async () => {
    w = await startProxyWorld();
    w.staging.importErrors.push(
      { filename: 'ci_build.py', stack_trace: 'SyntaxError in ci_build.py' },
      { filename: 'customer_export.py', stack_trace: 'ImportError: no module pii' },
      { filename: 'orphan.py', stack_trace: 'NameError' },
    );
    const ci = await w.h.idp.serviceToken();
    const res = await w.h.call('GET', '/airflow/staging/api/v2/importErrors', {
      token: ci,
      headers: PYTHON_CLIENT_HEADERS,
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ total_entries: 1, import_errors: [{ filename: 'ci_build.py' }] });
    const eng = await w.h.token('eng@example.com');
    const all = await w.h.call('GET', '/airflow/staging/api/v2/importErrors?limit=1&offset=1', {
      token: eng,
    });
    expect(all.json.total_entries).toBe(2);
    expect(all.json.import_errors.map((e: { filename: string }) => e.filename)).toEqual([
      'customer_export.py',
    ]);
  });
});
