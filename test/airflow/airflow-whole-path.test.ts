/**
 * The whole path through the bridge: an engineer's trigger of a remote (Airflow) DAG tagged `pii`
 * needs a lead's approval; the lead approves in Slack; the bridge delivers the run to the fake
 * Airflow, follows it to success; the audit trail shows the request, the vote, the remote trigger
 * and the result, and verifies.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { approvalButtonValue } from '../../src/http/chat/slack-message.ts';
import { slackSignature } from '../../src/http/chat/slack-signature.ts';
import { type HttpWorld, startHttpWorld } from '../http/http-world.ts';
import { FakeAirflow } from './fake-airflow.ts';

const SLACK_SECRET = 'slack-signing-secret-for-tests';

let fake: FakeAirflow | undefined;
let h: HttpWorld | undefined;
afterEach(async () => {
  await h?.close();
  await fake?.close();
  h = undefined;
  fake = undefined;
});

const PROD_POLICIES = `
@reason("engineers see prod DAGs and runs")
permit (principal in Group::"data-eng", action in Action::"read", resource);
@reason("leads see prod DAGs and runs")
permit (principal in Group::"data-leads", action in Action::"read", resource);
@reason("engineers trigger prod DAGs that hold no personal data")
permit (principal in Group::"data-eng", action == Action::"trigger", resource) unless { resource.tags.contains("pii") };
@reason("engineers may ask for any prod run")
permit (principal in Group::"data-eng", action == Action::"requestTrigger", resource);
@reason("leads approve prod runs")
permit (principal in Group::"data-leads", action == Action::"approve", resource);
@reason("leads may start an Airflow schedule")
permit (principal in Group::"data-leads", action == Action::"unpause", resource);
`;

async function world(api: 'v1' | 'v2', clock: { now: number }, extraPolicies = '') {
  fake = await FakeAirflow.start({ api });
  fake.addDag({
    dag_id: 'customer_export',
    description: 'Exports customers to the CRM',
    owners: ['data-eng'],
    tags: ['pii', 'crm'],
    schedule: '0 3 * * *',
    tasks: ['extract', 'upload'],
    params: {
      rows: {
        __class: 'airflow.sdk.definitions.param.Param',
        value: 100,
        description: 'rows to export',
        schema: { type: 'integer', minimum: 1 },
      },
      region: { __class: 'airflow.sdk.definitions.param.Param', value: 'eu', description: null, schema: {} },
    },
  });
  const auth =
    api === 'v2'
      ? `{ kind: password, username: ${fake.credentials.username}, password: { file: secrets/airflow-password } }`
      : `{ kind: basic, username: ${fake.credentials.username}, password: { file: secrets/airflow-password } }`;
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
    `      api: ${api}`,
    `      auth: ${auth}`,
    '      pollIntervalMs: 1000',
    '      maxPollIntervalMs: 4000',
    '      retryBaseMs: 1',
    '',
  ].join('\n');
  const password = fake.credentials.password;
  h = await startHttpWorld({
    config,
    files: { 'prod-policies/roles.cedar': PROD_POLICIES + extraPolicies, 'secrets/.keep': '' },
    now: () => clock.now,
    clock: () => clock.now,
    server: {
      slack: {
        signingSecret: SLACK_SECRET,
        users: { ULEAD: 'lead@example.com' },
        directory: {},
        replayWindowSec: 300,
        responseUrlOrigins: [],
      },
    },
  }).catch(async (e) => {
    throw e;
  });
  // The secret file is written after the world exists in the test's folder layout: re-read on use.
  mkdirSync(join(h.world.dir, 'secrets'), { recursive: true });
  writeFileSync(join(h.world.dir, 'secrets/airflow-password'), `${password}\n`);
  return h;
}

/** A signed click on the Approve button of the message that showed `approval`. */
function slackClick(approval: Parameters<typeof approvalButtonValue>[0], user: string, now: number) {
  const value = approvalButtonValue(approval);
  const body = `payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', user: { id: user, name: user }, actions: [{ action_id: 'approve', value }] }))}`;
  const ts = Math.floor(now / 1000);
  return {
    body,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(ts),
      'x-slack-signature': slackSignature(SLACK_SECRET, ts, body),
    },
  };
}

describe.each(['v2', 'v1'] as const)('the Airflow bridge, whole path, on the %s API', (api) => {
  it('an engineer asks, a lead approves in Slack, Airflow runs it, and the audit trail shows it all', async () => {
    const clock = { now: Date.parse('2026-11-29T04:00:00Z') };
    const w = await world(api, clock);
    const ac = w.world;
    expect(ac.airflow).toBeDefined();
    await ac.airflow!.catalogs.get('prod')!.refresh();
    await ac.policies.load();

    const eng = await w.token('eng@example.com');
    const listed = await w.call('GET', '/api/v1/dags?env=prod', { token: eng });
    expect(listed.status).toBe(200);
    const remote = listed.json.dags.find((d: { dagId: string }) => d.dagId === 'customer_export');
    expect(remote).toMatchObject({ env: 'prod', tags: ['pii', 'crm'], schedule: null });
    expect(remote.description).toContain('Scheduled by Airflow: 0 3 * * *');
    expect(remote.description).toContain('region: no schema in Airflow; assumed a string');

    const asked = await w.call('POST', '/api/v1/dags/customer_export/runs', {
      token: eng,
      body: { env: 'prod', params: { rows: 5 } },
    });
    expect(asked.status).toBe(202);
    const runId = asked.json.run.id as string;

    const click = slackClick(asked.json.approval, 'ULEAD', clock.now);
    const voted = await w.call('POST', '/slack/interactivity', click);
    expect(voted.status).toBe(200);
    expect(voted.json.text).toContain('run queued');

    const executor = ac.airflow!.executor;
    await executor.tick();
    const remoteRunId = `airclutch__${runId}`;
    const delivered = fake!.run('customer_export', remoteRunId);
    expect(delivered?.conf).toEqual({ rows: 5, region: 'eu' });
    expect(delivered?.note).toContain('requested by eng@example.com');
    expect(delivered?.note).toContain('approved by lead@example.com');
    expect(
      (
        await ac.db.kysely
          .selectFrom('runs')
          .select('state')
          .where('id', '=', runId)
          .executeTakeFirstOrThrow()
      ).state,
    ).toBe('running');

    fake!.step();
    clock.now += 1_000;
    await executor.tick();
    fake!.step();
    clock.now += 1_000;
    await executor.tick();

    const shown = await w.call('GET', `/api/v1/runs/${runId}`, { token: eng });
    expect(shown.status).toBe(200);
    expect(shown.json.state ?? shown.json.run?.state).toBe('success');
    const tasks = await ac.db.kysely
      .selectFrom('task_instances')
      .select(['task_id', 'state'])
      .where('run_id', '=', runId)
      .orderBy('task_id')
      .execute();
    expect(tasks).toEqual([
      { task_id: 'extract', state: 'success' },
      { task_id: 'upload', state: 'success' },
    ]);

    const logs = await w.call('GET', `/api/v1/runs/${runId}/logs?task=upload`, { token: eng });
    expect(logs.status).toBe(200);
    expect(logs.text).toContain(`[${remoteRunId}] upload try 1: state success`);

    const trail = await ac.db.kysely
      .selectFrom('audit_records')
      .select(['action', 'outcome', 'actor_id'])
      .where('run_id', '=', runId)
      .orderBy('seq')
      .execute();
    const steps = trail.map((r) => `${r.action}:${r.outcome}:${r.actor_id}`);
    // The request, the vote, the remote trigger (with the run starting in the same transaction), and the result.
    expect(steps).toEqual([
      'trigger:awaiting_approval:eng@example.com',
      'approve:approved:lead@example.com',
      'run.state:running:engine',
      'airflow.trigger:delivered:airflow-bridge',
      'task.state:success:engine',
      'task.state:success:engine',
      'run.state:success:engine',
    ]);
    expect((await verifyChain(ac.db)).ok).toBe(true);
    expect(fake!.violations).toEqual([]);
  });

  it('unpauses an Airflow DAG only for whom policy allows it, and records both answers', async () => {
    const clock = { now: Date.now() };
    const w = await world(api, clock);
    fake!.dags.get('customer_export')!.is_paused = true;
    await w.world.airflow!.catalogs.get('prod')!.refresh();
    await w.world.policies.load();
    const eng = await w.token('eng@example.com');
    const refused = await w.call('POST', '/api/v1/dags/customer_export/unpause', {
      token: eng,
      body: { env: 'prod' },
    });
    expect(refused.status).toBe(403);
    expect(refused.json.code).toBe('POLICY_DENIED');
    expect(refused.json.detail).toContain('User::"eng@example.com" may not unpause prod/customer_export');
    expect(refused.json.detail).toContain('what would allow it');
    expect(fake!.dags.get('customer_export')!.is_paused).toBe(true);
    const lead = await w.token('lead@example.com');
    const done = await w.call('POST', '/api/v1/dags/customer_export/unpause', {
      token: lead,
      body: { env: 'prod' },
    });
    expect(done.status).toBe(200);
    expect(done.json).toEqual({ outcome: 'done', env: 'prod', dagId: 'customer_export', paused: false });
    expect(fake!.dags.get('customer_export')!.is_paused).toBe(false);
    const rows = await w.world.db.kysely
      .selectFrom('audit_records')
      .select(['action', 'outcome', 'actor_id'])
      .where('dag_id', '=', 'customer_export')
      .where('action', 'in', ['unpause', 'airflow.unpause'])
      .orderBy('seq')
      .execute();
    expect(rows.map((r) => `${r.action}:${r.outcome}:${r.actor_id}`)).toEqual([
      'unpause:denied:eng@example.com',
      'unpause:allowed:lead@example.com',
      'airflow.unpause:unpaused:lead@example.com',
    ]);
    expect(fake!.violations).toEqual([]);
  });
  it("an engineer's unpause of a prod Airflow DAG waits for a lead's approval, and Airflow unpauses it only then", async () => {
    const clock = { now: Date.now() };
    const w = await world(
      api,
      clock,
      `
@reason("engineers may ask to start an Airflow schedule")
permit (principal in Group::"data-eng", action == Action::"requestUnpause", resource);
@reason("admins may ask to start an Airflow schedule")
permit (principal in Group::"admins", action == Action::"requestUnpause", resource);
@reason("admins approve too")
permit (principal in Group::"admins", action == Action::"approve", resource);
`,
    );
    fake!.dags.get('customer_export')!.is_paused = true;
    await w.world.airflow!.catalogs.get('prod')!.refresh();
    await w.world.policies.load();
    const paused = () => fake!.dags.get('customer_export')!.is_paused;
    const [eng, lead, admin] = await Promise.all(
      ['eng@example.com', 'lead@example.com', 'admin@example.com'].map((e) => w.token(e)),
    );

    const asked = await w.call('POST', '/api/v1/dags/customer_export/unpause', {
      token: eng,
      body: { env: 'prod' },
    });
    expect(asked.status).toBe(202);
    expect(asked.json).toMatchObject({
      outcome: 'awaiting_approval',
      env: 'prod',
      dagId: 'customer_export',
      paused: true,
      approval: {
        action: 'unpause',
        run_id: null,
        state: 'pending',
        quorum: 1,
        requested_by: 'eng@example.com',
      },
    });
    expect(asked.json.approval.reason).toContain('engineers may ask to start an Airflow schedule');
    expect(paused()).toBe(true);
    const approval = asked.json.approval;

    // The lead sees it among the requests it may vote on.
    const listed = await w.call('GET', '/api/v1/approvals', { token: lead });
    expect(listed.status).toBe(200);
    expect(listed.json.actionable.map((a: { id: string }) => a.id)).toContain(approval.id);

    // A requester cannot approve its own unpause, even when policy lets it approve.
    const own = await w.call('POST', '/api/v1/dags/customer_export/unpause', {
      token: admin,
      body: { env: 'prod' },
    });
    expect(own.status).toBe(202);
    const self = await w.call('POST', `/api/v1/approvals/${own.json.approval.id}/approve`, {
      token: admin,
      body: { paramsHash: own.json.approval.params_hash, dagVersion: own.json.approval.dag_version },
    });
    expect(self.json.code).toBe('APPROVAL_SELF_VOTE');
    expect(self.json.detail).toContain(
      'admin@example.com requested this unpause of DAG customer_export and cannot approve it: another eligible person must',
    );
    expect(paused()).toBe(true);

    // A denial closes the request and leaves the DAG paused.
    const denied = await w.call('POST', `/api/v1/approvals/${own.json.approval.id}/deny`, {
      token: lead,
      body: { comment: 'not now' },
    });
    expect(denied.status).toBe(200);
    expect(denied.json.approval.state).toBe('denied');
    expect(paused()).toBe(true);

    // The lead approves the engineer's request: only now is the DAG unpaused in Airflow.
    const approved = await w.call('POST', `/api/v1/approvals/${approval.id}/approve`, {
      token: lead,
      body: { paramsHash: approval.params_hash, dagVersion: approval.dag_version },
    });
    expect(approved.status).toBe(200);
    expect(approved.json.approval.state).toBe('approved');
    expect(paused()).toBe(false);

    const rows = await w.world.db.kysely
      .selectFrom('audit_records')
      .select(['action', 'outcome', 'actor_id', 'approval_id'])
      .where('dag_id', '=', 'customer_export')
      .where('action', 'in', ['unpause', 'approve', 'deny', 'airflow.unpause'])
      .orderBy('seq')
      .execute();
    expect(rows.map((r) => `${r.action}:${r.outcome}:${r.actor_id}`)).toEqual([
      'unpause:awaiting_approval:eng@example.com',
      'unpause:awaiting_approval:admin@example.com',
      'approve:refused:admin@example.com',
      'deny:denied:lead@example.com',
      'approve:approved:lead@example.com',
      'airflow.unpause:unpaused:airflow-bridge',
    ]);
    expect(rows.at(-1)!.approval_id).toBe(approval.id);
    expect((await verifyChain(w.world.db)).ok).toBe(true);
    expect(fake!.violations).toEqual([]);
  });
});
