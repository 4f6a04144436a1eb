/**
 * What the web UI reads from the API about where DAGs run, with a real Airflow bridge (the fake
 * Airflow, checked against the published OpenAPI documents): where each DAG runs, import errors of
 * local files and Airflow's, the attempts of a bridged run with their times (the run page's Gantt
 * chart), and a DAG action's approval request (an Airflow unpause) on the live stream.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeAirflow } from '../airflow/fake-airflow.ts';
import { type HttpWorld, startHttpWorld } from '../http/http-world.ts';

const PROD_POLICIES = `
@reason("engineers see prod DAGs and runs")
permit (principal in Group::"data-eng", action in Action::"read", resource);
@reason("leads see prod DAGs and runs")
permit (principal in Group::"data-leads", action in Action::"read", resource);
@reason("engineers may ask for any prod run")
permit (principal in Group::"data-eng", action == Action::"requestTrigger", resource);
@reason("engineers may ask to start an Airflow schedule")
permit (principal in Group::"data-eng", action == Action::"requestUnpause", resource);
@reason("leads approve prod runs")
permit (principal in Group::"data-leads", action == Action::"approve", resource);
`;

describe('the API views the web UI reads, with an Airflow-backed environment', { timeout: 120_000 }, () => {
  let fake: FakeAirflow;
  let h: HttpWorld;
  const clock = { now: Date.parse('2026-11-29T04:00:00Z') };

  beforeAll(async () => {
    fake = await FakeAirflow.start({ api: 'v2' });
    fake.addDag({
      dag_id: 'customer_export',
      description: 'Exports customers to the CRM',
      owners: ['data-eng'],
      tags: ['crm'],
      schedule: '0 3 * * *',
      tasks: ['extract', 'upload'],
      params: {},
    });
    fake.addDag({
      dag_id: 'legacy_report',
      description: 'A report whose file Airflow cannot import',
      owners: ['data-eng'],
      tags: [],
      schedule: null,
      tasks: ['build'],
      params: {},
      has_import_errors: true,
    });
    const config = [
      'environments:',
      '  dev:',
      '    dags: [dags]',
      '    policies: [policies]',
      '  prod:',
      '    policies: [prod-policies]',
      '    approvals: { quorum: 1 }',
      '    airflow:',
      `      baseUrl: ${fake.url}`,
      '      api: v2',
      `      auth: { kind: password, username: ${fake.credentials.username}, password: { file: secrets/airflow-password } }`,
      '      pollIntervalMs: 1000',
      '      maxPollIntervalMs: 4000',
      '      retryBaseMs: 1',
      '',
    ].join('\n');
    h = await startHttpWorld({
      config,
      files: {
        'prod-policies/roles.cedar': PROD_POLICIES,
        'secrets/.keep': '',
        'dags/broken.ts': "import { dag } from 'airclutch';\nexport default dag({ id: 'broken', ;\n",
      },
      now: () => clock.now,
      clock: () => clock.now,
    });
    mkdirSync(join(h.world.dir, 'secrets'), { recursive: true });
    writeFileSync(join(h.world.dir, 'secrets/airflow-password'), `${fake.credentials.password}\n`);
    await h.world.airflow!.catalogs.get('prod')!.refresh();
    await h.world.policies.load();
  });
  afterAll(async () => {
    await h?.close();
    await fake?.close();
  });

  it('marks each DAG with where it runs: local DAG files on the engine, bridged ones on Airflow', async () => {
    const eng = await h.token('eng@example.com');
    const prod = await h.call('GET', '/api/v1/dags?env=prod', { token: eng });
    expect(prod.json.dags.find((d: { dagId: string }) => d.dagId === 'customer_export')).toMatchObject({
      env: 'prod',
      runsOn: 'airflow',
    });
    const dev = await h.call('GET', '/api/v1/dags?env=dev', { token: eng });
    expect(dev.json.dags.find((d: { dagId: string }) => d.dagId === 'revenue')).toMatchObject({
      env: 'dev',
      runsOn: 'local',
    });
    const one = await h.call('GET', '/api/v1/dags/customer_export?env=prod', { token: eng });
    expect(one.json.runsOn).toBe('airflow');
  });

  it("lists local DAG files that did not load and Airflow's import errors, each only to whom may see that environment's DAGs", async () => {
    const eng = await h.token('eng@example.com');
    const res = await h.call('GET', '/api/v1/import-errors', { token: eng });
    expect(res.status).toBe(200);
    expect(res.json.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ env: 'dev', file: 'dags/broken.ts', source: 'local', dagId: null }),
        expect.objectContaining({
          env: 'prod',
          dagId: 'legacy_report',
          source: 'airflow',
          message: expect.stringContaining('Airflow reports import errors'),
        }),
      ]),
    );
    const local = res.json.errors.find((e: { file: string }) => e.file === 'dags/broken.ts');
    expect(local.line).toBeGreaterThan(0);
    const onlyProd = await h.call('GET', '/api/v1/import-errors?env=prod', { token: eng });
    expect(onlyProd.json.errors.map((e: { env: string }) => e.env)).toEqual(['prod']);
    // Admins may see no prod DAG here: Airflow's errors of prod are not theirs to see.
    const admin = await h.call('GET', '/api/v1/import-errors?env=prod', {
      token: await h.token('admin@example.com'),
    });
    expect(admin.json.errors).toEqual([]);
  });

  it('shows the attempts of a bridged run, with the times Airflow ran each try', async () => {
    const [eng, lead] = await Promise.all([h.token('eng@example.com'), h.token('lead@example.com')]);
    const asked = await h.call('POST', '/api/v1/dags/customer_export/runs', {
      token: eng,
      body: { env: 'prod', params: {} },
    });
    expect(asked.status).toBe(202);
    const runId = asked.json.run.id as string;
    const { params_hash: paramsHash, dag_version: dagVersion, id } = asked.json.approval;
    const voted = await h.call('POST', `/api/v1/approvals/${id}/approve`, {
      token: lead,
      body: { paramsHash, dagVersion },
    });
    expect(voted.status).toBe(200);
    const executor = h.world.airflow!.executor;
    await executor.tick();
    for (let i = 0; i < 2; i++) {
      fake.step();
      clock.now += 1_000;
      await executor.tick();
    }
    const shown = await h.call('GET', `/api/v1/runs/${runId}`, { token: eng });
    expect(shown.json.run.state).toBe('success');
    for (const task of ['extract', 'upload']) {
      const t = shown.json.tasks.find((x: { task_id: string }) => x.task_id === task);
      expect(t.attempts, task).toHaveLength(1);
      const [a] = t.attempts;
      expect(a).toMatchObject({ attempt: 1, state: 'success', error: null });
      expect(a.startedAt).toBeGreaterThanOrEqual(Date.parse('2026-11-29T04:00:00Z'));
      expect(a.finishedAt).toBeGreaterThanOrEqual(a.startedAt);
    }
  });

  it("streams an Airflow unpause request to whom may view the DAG, as a run's request is streamed", async () => {
    fake.dags.get('customer_export')!.is_paused = true;
    await h.world.airflow!.catalogs.get('prod')!.refresh();
    const stream = await fetch(`${h.base}/api/v1/events`, {
      headers: { authorization: `Bearer ${await h.token('lead@example.com')}` },
    });
    await readUntil(stream, (t) => t.includes(': connected'));
    const asked = await h.call('POST', '/api/v1/dags/customer_export/unpause', {
      token: await h.token('eng@example.com'),
      body: { env: 'prod' },
    });
    expect(asked.status).toBe(202);
    const text = await readUntil(stream, (t) => t.includes(asked.json.approval.id));
    expect(text).toContain(
      `event: approval\ndata: ${JSON.stringify({
        approvalId: asked.json.approval.id,
        runId: null,
        action: 'unpause',
        env: 'prod',
        dagId: 'customer_export',
        state: 'pending',
      })}`,
    );
    await stream.body?.cancel();
  });

  it('shows an Airflow unpause request at its own address with the reason asked, to approvers and to whom may view its DAG, and lists the DAG as paused', async () => {
    fake.dags.get('customer_export')!.is_paused = true;
    await h.world.airflow!.catalogs.get('prod')!.refresh();
    const [eng, lead, admin] = await Promise.all([
      h.token('eng@example.com'),
      h.token('lead@example.com'),
      h.token('admin@example.com'),
    ]);
    const listed = await h.call('GET', '/api/v1/dags?env=prod', { token: eng });
    const dag = listed.json.dags.find((d: { dagId: string }) => d.dagId === 'customer_export');
    expect(dag).toMatchObject({ runsOn: 'airflow', paused: true });
    const local = await h.call('GET', '/api/v1/dags?env=dev', { token: eng });
    expect(local.json.dags.find((d: { dagId: string }) => d.dagId === 'revenue')).not.toHaveProperty(
      'paused',
    );

    const asked = await h.call('POST', '/api/v1/dags/customer_export/unpause', {
      token: eng,
      body: { env: 'prod', reason: 'the CRM migration is done' },
    });
    expect(asked.status).toBe(202);
    const id = asked.json.approval.id as string;
    const forLead = await h.call('GET', `/api/v1/approvals/${id}`, { token: lead });
    expect(forLead.status).toBe(200);
    expect(forLead.json).toMatchObject({
      approval: { id, action: 'unpause', run_id: null, state: 'pending' },
      run: null,
      note: 'the CRM migration is done',
      canVote: { allowed: true, code: null, message: null },
    });
    expect(forLead.json.policies).toEqual([expect.stringMatching(/^prod-policies\/roles\.cedar:\d+$/)]);
    const forEng = await h.call('GET', `/api/v1/approvals/${id}`, { token: eng });
    expect(forEng.json.canVote.code).toBe('APPROVAL_SELF_VOTE');
    // Admins see no prod DAG here: the request is not theirs to see, and the refusal is recorded.
    const refused = await h.call('GET', `/api/v1/approvals/${id}`, { token: admin });
    expect(refused.status).toBe(403);
    expect(refused.json.code).toBe('POLICY_DENIED');
    expect(refused.json.detail).toContain('may not view prod/customer_export');
    const record = await h.world.db.kysely
      .selectFrom('audit_records')
      .select(['action', 'outcome'])
      .where('actor_id', '=', 'admin@example.com')
      .where('dag_id', '=', 'customer_export')
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow();
    expect(record).toEqual({ action: 'view', outcome: 'denied' });
  });

  it("lists an environment's loaded policies with their source to audit readers, and the last load's problems", async () => {
    const admin = await h.token('admin@example.com');
    const listed = await h.call('GET', '/api/v1/policies?env=dev', { token: admin });
    expect(listed.status).toBe(200);
    expect(listed.json).toMatchObject({ env: 'dev', problems: [] });
    expect(listed.json.generation).toBeGreaterThan(0);
    expect(listed.json.policies).toContainEqual(
      expect.objectContaining({
        id: expect.stringMatching(/^policies\/audit\.cedar:\d+$/),
        effect: 'permit',
        annotations: { reason: 'admins read the trail' },
        dagId: null,
      }),
    );
    const refused = await h.call('GET', '/api/v1/policies?env=dev', {
      token: await h.token('eng@example.com'),
    });
    expect(refused.status).toBe(403);
    expect(refused.json.code).toBe('POLICY_DENIED');

    const bad = join(h.world.dir, 'policies', 'bad.cedar');
    writeFileSync(bad, 'permit (principal, action == Action::"nope", resource);\n');
    try {
      expect((await h.world.policies.load()).ok).toBe(false);
      const after = await h.call('GET', '/api/v1/policies?env=dev', { token: admin });
      expect(after.json.generation).toBe(listed.json.generation);
      expect(after.json.policies.length).toBe(listed.json.policies.length);
      expect(after.json.problems).toContainEqual(
        expect.objectContaining({ file: 'policies/bad.cedar', line: 1, message: expect.any(String) }),
      );
    } finally {
      rmSync(bad);
      expect((await h.world.policies.load()).ok).toBe(true);
    }
  });
});

/** Reads an SSE response until `until` holds for the text so far; gives back the text. */
async function readUntil(res: Response, until: (text: string) => boolean): Promise<string> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!until(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  reader.releaseLock();
  return text;
}
