/**
 * Unpause approval requests in Slack, as run requests are: the message says it is an unpause of
 * DAG X in env Y and who asked, and the Approve and Deny buttons vote on it through the gate; an
 * approving click has the bridge unpause the DAG in Airflow, and the message is updated with it.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { chatNotifications } from '../../src/http/chat/chat-notifications.ts';
import { approvalButtonValue } from '../../src/http/chat/slack-message.ts';
import { slackSignature } from '../../src/http/chat/slack-signature.ts';
import { type HttpWorld, startHttpWorld } from '../http/http-world.ts';
import { FakeAirflow } from './fake-airflow.ts';

const SLACK_SECRET = 'slack-signing-secret-for-tests';

const POLICIES = `
@reason("engineers may ask to start an Airflow schedule; a lead approves")
permit (principal in Group::"data-eng", action == Action::"requestUnpause", resource in Env::"prod");
@reason("leads approve prod requests")
permit (principal in Group::"data-leads", action == Action::"approve", resource in Env::"prod");
`;

interface Received {
  path: string;
  body: string;
}

/** A real HTTP server standing in for Slack's incoming webhook and its response_url. */
async function startSlack() {
  const received: Received[] = [];
  const waiting: Array<{ path: string; resolve: (r: Received) => void }> = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      res.setHeader('connection', 'close');
      res.end('ok');
      const got = { path: req.url ?? '', body };
      received.push(got);
      const i = waiting.findIndex((w) => w.path === got.path);
      if (i >= 0) waiting.splice(i, 1)[0]!.resolve(got);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    received,
    /** The next message posted to `path`. */
    next: (path: string) => new Promise<Received>((resolve) => waiting.push({ path, resolve })),
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

let fake: FakeAirflow | undefined;
let h: HttpWorld | undefined;
let slack: Awaited<ReturnType<typeof startSlack>> | undefined;
let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  await h?.close();
  await fake?.close();
  await slack?.close();
  stop = undefined;
  h = undefined;
  fake = undefined;
  slack = undefined;
});

function click(
  approval: Parameters<typeof approvalButtonValue>[0],
  action: 'approve' | 'deny',
  responseUrl: string,
) {
  const payload = {
    type: 'block_actions',
    user: { id: 'ULEAD', name: 'lead' },
    actions: [{ action_id: action, value: approvalButtonValue(approval) }],
    response_url: responseUrl,
  };
  const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  const ts = Math.floor(Date.now() / 1000);
  return {
    body,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(ts),
      'x-slack-signature': slackSignature(SLACK_SECRET, ts, body),
    },
  };
}

describe.each(['v2', 'v1'] as const)('unpause requests in Slack, on the %s API', (api) => {
  it('posts who asks to unpause which DAG in which env, and its buttons deny or approve it; approval unpauses it in Airflow', async () => {
    slack = await startSlack();
    fake = await FakeAirflow.start({ api });
    fake.addDag({ dag_id: 'customer_export', is_paused: true, schedule: '0 3 * * *', owners: ['data-eng'] });
    const password = fake.credentials.password;
    const kind = api === 'v2' ? 'password' : 'basic';
    h = await startHttpWorld({
      config: [
        'environments:',
        '  prod:',
        '    policies: [prod-policies]',
        '    approvals: { quorum: 1 }',
        '    airflow:',
        `      baseUrl: ${fake.url}`,
        `      api: ${api}`,
        `      auth: { kind: ${kind}, username: ${fake.credentials.username}, password: { file: secrets/airflow-password } }`,
        '      retryBaseMs: 1',
        '',
      ].join('\n'),
      files: { 'prod-policies/roles.cedar': POLICIES, 'secrets/.keep': '' },
      server: {
        slack: {
          webhookUrl: `${slack.url}/hook`,
          signingSecret: SLACK_SECRET,
          users: { ULEAD: 'lead@example.com' },
          directory: {},
          replayWindowSec: 300,
          responseUrlOrigins: [slack.url],
        },
        webhooks: [],
      },
    });
    writeFileSync(join(h.world.dir, 'secrets/airflow-password'), `${password}\n`);
    await h.world.airflow!.catalogs.get('prod')!.refresh();
    await h.world.policies.load();
    stop = await chatNotifications(h.world, h.server, { retryBaseMs: 10, pollMs: 50 });
    const eng = await h.token('eng@example.com');
    const paused = () => fake!.dags.get('customer_export')!.is_paused;

    // The first request: the message, then a Deny click.
    let posted = slack.next('/hook');
    const first = await h.call('POST', '/api/v1/dags/customer_export/unpause', {
      token: eng,
      body: { env: 'prod' },
    });
    expect(first.status).toBe(202);
    const msg = JSON.parse((await posted).body);
    expect(msg.text).toBe(
      'eng@example.com asks to unpause the Airflow DAG customer_export in prod (needs 1 approval)',
    );
    const blocks = JSON.stringify(msg.blocks);
    expect(msg.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: 'Unpause awaiting approval' },
    });
    expect(blocks).toContain('*Requester*\\neng@example.com');
    expect(blocks).toContain('*DAG*\\ncustomer_export');
    expect(blocks).toContain('*Environment*\\nprod');
    expect(blocks).toContain(
      '*Action*\\nUnpause customer_export in Airflow (prod): its Airflow schedule starts',
    );
    expect(blocks).toContain('engineers may ask to start an Airflow schedule; a lead approves');
    expect(blocks).toContain(`unpause · approval ${first.json.approval.id}`);
    const shown = {
      id: first.json.approval.id,
      paramsHash: first.json.approval.params_hash,
      dagVersion: first.json.approval.dag_version,
    };
    const actions = msg.blocks.find((b: { type: string }) => b.type === 'actions');
    expect(
      actions.elements.map((e: { action_id: string; value: string }) => [e.action_id, JSON.parse(e.value)]),
    ).toEqual([
      ['approve', shown],
      ['deny', shown],
    ]);

    const denyUpdate = slack.next('/respond/deny');
    const deny = click(first.json.approval, 'deny', `${slack.url}/respond/deny`);
    const denied = await h.call('POST', '/slack/interactivity', deny);
    expect(denied.status).toBe(200);
    expect(denied.json.text).toBe('Denied by lead@example.com: 0/1 approvals, unpause not done');
    expect(JSON.stringify(JSON.parse((await denyUpdate).body).blocks)).toContain(
      '*denied*: denied by lead@example.com; unpause not done',
    );
    expect(paused()).toBe(true);

    // The second request: an Approve click, and Airflow unpauses the DAG.
    posted = slack.next('/hook');
    const second = await h.call('POST', '/api/v1/dags/customer_export/unpause', {
      token: eng,
      body: { env: 'prod' },
    });
    expect(second.status).toBe(202);
    expect(JSON.parse((await posted).body).blocks.at(-1).elements[0].text).toBe(
      `unpause · approval ${second.json.approval.id}`,
    );
    const approveUpdate = slack.next('/respond/approve');
    const approve = click(second.json.approval, 'approve', `${slack.url}/respond/approve`);
    const approved = await h.call('POST', '/slack/interactivity', approve);
    expect(approved.status).toBe(200);
    expect(approved.json.text).toBe('Approved by lead@example.com: 1/1 approvals, unpause done');
    expect(paused()).toBe(false);
    const updated = JSON.parse((await approveUpdate).body);
    expect(updated.replace_original).toBe(true);
    expect(updated.blocks.some((b: { type: string }) => b.type === 'actions')).toBe(false);
    expect(JSON.stringify(updated.blocks)).toContain(
      '*approved*: approved by lead@example.com (1/1); unpause done',
    );

    const rows = await h.world.db.kysely
      .selectFrom('audit_records')
      .select(['action', 'outcome', 'actor_id', 'source'])
      .where('approval_id', '=', second.json.approval.id)
      .orderBy('seq')
      .execute();
    expect(rows.map((r) => `${r.action}:${r.outcome}:${r.actor_id}:${r.source}`)).toEqual([
      'unpause:awaiting_approval:eng@example.com:api',
      'approve:approved:lead@example.com:chat',
      'airflow.unpause:unpaused:airflow-bridge:bridge',
    ]);
    expect((await verifyChain(h.world.db)).ok).toBe(true);
    expect(fake.violations).toEqual([]);
  });
});
