import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { expireApprovals } from '../../src/gate/vote.ts';
import { chatNotifications } from '../../src/http/chat/chat-notifications.ts';
import { approvalButtonValue } from '../../src/http/chat/slack-message.ts';
import { slackSignature } from '../../src/http/chat/slack-signature.ts';
import { type HttpWorld, startHttpWorld } from './http-world.ts';

const SECRET = 'slack-signing-secret-for-tests';

interface Receiver {
  url: string;
  received: Array<{ headers: IncomingMessage['headers']; body: string; path: string }>;
  /** Status codes to answer with, in order; 200 once exhausted. */
  answers: number[];
  next(): Promise<{ headers: IncomingMessage['headers']; body: string; path: string }>;
  close(): Promise<void>;
}

/** A real HTTP server standing in for Slack's incoming webhook or a chat tool's receiver. */
async function startReceiver(): Promise<Receiver> {
  const waiting: Array<(r: { headers: IncomingMessage['headers']; body: string; path: string }) => void> = [];
  const r: Receiver = {
    url: '',
    received: [],
    answers: [],
    next: () => new Promise((resolve) => waiting.push(resolve)),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      res.statusCode = r.answers.shift() ?? 200;
      res.setHeader('connection', 'close');
      res.end('ok');
      if (res.statusCode === 200) {
        const got = { headers: req.headers, body, path: req.url ?? '' };
        r.received.push(got);
        waiting.shift()?.(got);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return r;
}

let h: HttpWorld | undefined;
let receiver: Receiver | undefined;
let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  await h?.close();
  await receiver?.close();
  h = undefined;
  receiver = undefined;
  stop = undefined;
});

async function world(now?: () => number, publicUrl?: string) {
  receiver = await startReceiver();
  h = await startHttpWorld({
    server: {
      ...(publicUrl ? { publicUrl } : {}),
      slack: {
        webhookUrl: receiver.url,
        signingSecret: SECRET,
        users: { ULEAD: 'lead@example.com', ULEAD2: 'lead2@example.com' },
        directory: {},
        replayWindowSec: 300,
        responseUrlOrigins: [new URL(receiver.url).origin],
      },
      webhooks: [
        {
          url: receiver.url,
          secret: 'webhook-secret-0123456789',
          events: ['approval.closed'],
          maxAttempts: 3,
        },
      ],
    },
    ...(now ? { now } : {}),
  });
  stop = await chatNotifications(h.world, h.server, { retryBaseMs: 10 });
  return h;
}

type Shown = Parameters<typeof approvalButtonValue>[0];

/** A click on a button of the message that showed `approval` (or one carrying `value` as it is). */
function interactivity(
  approval: Shown | string,
  action: 'approve' | 'deny',
  user: string,
  responseUrl?: string,
) {
  const value = typeof approval === 'string' ? approval : approvalButtonValue(approval);
  const payload = {
    type: 'block_actions',
    user: { id: user, name: user },
    actions: [{ action_id: action, value }],
    ...(responseUrl ? { response_url: responseUrl } : {}),
  };
  return `payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

async function postSlack(w: HttpWorld, body: string, headers: Record<string, string>) {
  return w.call('POST', '/slack/interactivity', {
    body,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  });
}

function signed(body: string, ts = Math.floor(Date.now() / 1000)) {
  return { 'x-slack-request-timestamp': String(ts), 'x-slack-signature': slackSignature(SECRET, ts, body) };
}

/** Asks for a run of revenue that needs approval (over a million rows), as the engineer. */
async function askForApproval(w: HttpWorld, rows = 2_000_000) {
  const token = await w.token('eng@example.com');
  return w.call('POST', '/api/v1/dags/revenue/runs', { token, body: { params: { rows } } });
}

/**
 * Replaces the world's notifications with one webhook receiver that takes approval requests, at
 * `query` on the test receiver URL; returns the server section (to start it again) and its warnings.
 */
async function onlyWebhook(w: HttpWorld, query: string, maxAttempts: number) {
  await stop!();
  const hook = {
    url: `${receiver!.url}${query}`,
    secret: 'webhook-secret-0123456789',
    events: ['approval.requested'],
    maxAttempts,
  };
  const server = { slack: { ...w.server.slack, webhookUrl: undefined }, webhooks: [hook] };
  const warnings: string[] = [];
  stop = await chatNotifications(w.world, server, { retryBaseMs: 5, warn: (m) => warnings.push(m) });
  return { server, warnings };
}

const approvalIdsReceived = () => receiver!.received.map((r) => JSON.parse(r.body).data.approval?.id);

describe('chat approvals', () => {
  it('posts a Block Kit message naming requester, DAG, env, masked params and reason, with buttons', async () => {
    const w = await world();
    const message = receiver!.next();
    const eng = await w.token('eng@example.com');
    const asked = await w.call('POST', '/api/v1/dags/revenue/runs', {
      token: eng,
      body: { params: { rows: 2_000_000, apiKey: 'sk-very-secret' } },
    });
    expect(asked.status).toBe(202);
    const { body } = await message;
    expect(body).not.toContain('sk-very-secret');
    const msg = JSON.parse(body);
    const text = JSON.stringify(msg.blocks);
    expect(text).toContain('eng@example.com');
    expect(text).toContain('revenue');
    expect(text).toContain('*Environment*\\ndev');
    expect(text).toContain('`apiKey`: ••••••');
    expect(text).toContain('`rows`: 2000000');
    expect(text).toContain('engineers may ask for any run');
    const actions = msg.blocks.find((b: { type: string }) => b.type === 'actions');
    const shown = {
      id: asked.json.approval.id,
      paramsHash: asked.json.approval.params_hash,
      dagVersion: asked.json.approval.dag_version,
    };
    expect(shown.paramsHash).toMatch(/^[0-9a-f]{64}$/);
    expect(text).toContain(`params hash \`${shown.paramsHash}\` · DAG version \`${shown.dagVersion}\``);
    expect(
      actions.elements.map((e: { action_id: string; value: string }) => [e.action_id, JSON.parse(e.value)]),
    ).toEqual([
      ['approve', shown],
      ['deny', shown],
    ]);
  });

  it('counts a correctly signed click as a vote by the mapped identity, and sends the signed webhook event', async () => {
    const w = await world();
    const eng = await w.token('eng@example.com');
    const asked = await w.call('POST', '/api/v1/dags/revenue/runs', {
      token: eng,
      body: { params: { rows: 2_000_000 } },
    });
    await receiver!.next();
    const body1 = interactivity(asked.json.approval, 'approve', 'ULEAD');
    const r1 = await postSlack(w, body1, signed(body1));
    expect(r1.status).toBe(200);
    expect(r1.json.text).toContain('Approved by lead@example.com: 1/2 approvals');
    receiver!.answers.push(503, 500);
    const event = receiver!.next();
    const body2 = interactivity(asked.json.approval, 'approve', 'ULEAD2');
    const r2 = await postSlack(w, body2, signed(body2));
    expect(r2.json.text).toContain('2/2 approvals, run queued');
    const vote = await w.world.db.kysely
      .selectFrom('audit_records')
      .selectAll()
      .where('action', '=', 'approve')
      .where('actor_id', '=', 'lead@example.com')
      .executeTakeFirstOrThrow();
    expect(vote).toMatchObject({ source: 'chat', actor_issuer: 'slack' });
    // The webhook receiver refused twice; the third attempt carries a valid signature.
    const got = await event;
    const sig = String(got.headers['x-airclutch-signature']);
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(sig)!;
    expect(v1).toBe(
      createHmac('sha256', 'webhook-secret-0123456789').update(`${t}.${got.body}`).digest('hex'),
    );
    expect(JSON.parse(got.body)).toMatchObject({ type: 'approval.closed', data: { state: 'approved' } });
  });

  it('updates the Slack message through the click response_url, and never posts to another origin', async () => {
    const w = await world();
    const asked = await w.call('POST', '/api/v1/dags/revenue/runs', {
      token: await w.token('eng@example.com'),
      body: { params: { rows: 2_000_000, apiKey: 'sk-very-secret' } },
    });
    await receiver!.next();
    // Same server, but "localhost" is not an allowed origin: that URL must never be called.
    const elsewhere = receiver!.url.replace('127.0.0.1', 'localhost').replace('/hook', '/respond/elsewhere');
    const body1 = interactivity(asked.json.approval, 'approve', 'ULEAD', elsewhere);
    expect((await postSlack(w, body1, signed(body1))).status).toBe(200);
    const updated = receiver!.next();
    const body2 = interactivity(
      asked.json.approval,
      'approve',
      'ULEAD2',
      receiver!.url.replace('/hook', '/respond/2'),
    );
    expect((await postSlack(w, body2, signed(body2))).status).toBe(200);
    let got = await updated;
    // The approval.closed webhook event may land first.
    while (got.path !== '/respond/2') got = await receiver!.next();
    const msg = JSON.parse(got.body);
    expect(msg.replace_original).toBe(true);
    expect(got.body).not.toContain('sk-very-secret');
    expect(msg.blocks.some((b: { type: string }) => b.type === 'actions')).toBe(false);
    expect(JSON.stringify(msg.blocks)).toContain(
      '*approved*: approved by lead@example.com, lead2@example.com (2/2); run queued',
    );
    expect(receiver!.received.map((r) => r.path)).not.toContain('/respond/elsewhere');
  });

  it("links the web UI's approval request page, run page and approvals inbox at the server's public URL, before and after a vote", async () => {
    const w = await world(undefined, 'https://airclutch.example.com/');
    const asked = await askForApproval(w);
    const runId = asked.json.run.id as string;
    const first = JSON.parse((await receiver!.next()).body);
    const links = `<https://airclutch.example.com/approvals/${asked.json.approval.id}|Open in Airclutch> (the request) · <https://airclutch.example.com/runs/${runId}|the run> · <https://airclutch.example.com/approvals|Approvals inbox>`;
    expect(first.blocks).toContainEqual({ type: 'section', text: { type: 'mrkdwn', text: links } });
    const click = interactivity(
      asked.json.approval,
      'approve',
      'ULEAD',
      receiver!.url.replace('/hook', '/respond/1'),
    );
    expect((await postSlack(w, click, signed(click))).status).toBe(200);
    let got = await receiver!.next();
    while (got.path !== '/respond/1') got = await receiver!.next();
    const updated = JSON.parse(got.body);
    expect(updated.blocks).toContainEqual({ type: 'section', text: { type: 'mrkdwn', text: links } });
    expect(JSON.stringify(updated.blocks)).toContain('Waiting: approved by lead@example.com (1/2)');
  });

  it('links the listen address when no public URL is configured', async () => {
    const w = await world();
    const asked = await askForApproval(w);
    await receiver!.next();
    const click = interactivity(
      asked.json.approval,
      'approve',
      'ULEAD',
      receiver!.url.replace('/hook', '/respond/1'),
    );
    expect((await postSlack(w, click, signed(click))).status).toBe(200);
    let got = await receiver!.next();
    while (got.path !== '/respond/1') got = await receiver!.next();
    expect(JSON.stringify(JSON.parse(got.body).blocks)).toContain(
      `<${w.base}/approvals/${asked.json.approval.id}|Open in Airclutch> (the request) · <${w.base}/runs/${asked.json.run.id}|the run>`,
    );
  });

  it('refuses a click with a wrong signature, a stale timestamp or an unmapped user, and counts no vote', async () => {
    let now = Date.now();
    const w = await world(() => now);
    const eng = await w.token('eng@example.com');
    const asked = await w.call('POST', '/api/v1/dags/revenue/runs', {
      token: eng,
      body: { params: { rows: 2_000_000 } },
    });
    const body = interactivity(asked.json.approval, 'approve', 'ULEAD');
    const forged = await postSlack(w, body, {
      'x-slack-request-timestamp': String(Math.floor(now / 1000)),
      'x-slack-signature': slackSignature('another-secret-entirely', Math.floor(now / 1000), body),
    });
    expect(forged.status).toBe(401);
    expect(forged.json).toMatchObject({
      code: 'WEBHOOK_SIGNATURE_INVALID',
      detail: expect.stringContaining('does not match'),
    });
    const tampered = await postSlack(
      w,
      interactivity(asked.json.approval, 'approve', 'ULEAD2'),
      signed(body),
    );
    expect(tampered.json.code).toBe('WEBHOOK_SIGNATURE_INVALID');
    const headers = signed(body, Math.floor(now / 1000));
    now += 6 * 60_000;
    const replayed = await postSlack(w, body, headers);
    expect(replayed.json).toMatchObject({
      code: 'WEBHOOK_SIGNATURE_INVALID',
      detail: expect.stringContaining('replay window'),
    });
    const missing = await postSlack(w, body, {});
    expect(missing.json.code).toBe('WEBHOOK_SIGNATURE_INVALID');
    const strangerBody = interactivity(asked.json.approval, 'approve', 'UNKNOWN');
    const stranger = await postSlack(w, strangerBody, signed(strangerBody, Math.floor(now / 1000)));
    expect(stranger.status).toBe(401);
    expect(stranger.json).toMatchObject({
      code: 'PRINCIPAL_UNMAPPED',
      detail: expect.stringContaining('server.slack.users'),
    });
    const votes = await w.world.db.kysely.selectFrom('approval_votes').selectAll().execute();
    expect(votes).toEqual([]);
  });

  it('refuses a JSON body whose signature covers an empty string, and counts no vote', async () => {
    const w = await world();
    const asked = await askForApproval(w);
    const payload = JSON.parse(
      decodeURIComponent(interactivity(asked.json.approval, 'approve', 'ULEAD').slice(8)),
    );
    const ts = Math.floor(Date.now() / 1000);
    const res = await w.call('POST', '/slack/interactivity', {
      body: { payload: JSON.stringify(payload) },
      headers: {
        'x-slack-request-timestamp': String(ts),
        'x-slack-signature': slackSignature(SECRET, ts, ''),
      },
    });
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({
      code: 'WEBHOOK_SIGNATURE_INVALID',
      detail: expect.stringContaining('does not match'),
    });
    expect(await w.world.db.kysely.selectFrom('approval_votes').selectAll().execute()).toEqual([]);
  });

  it('refuses a correctly signed body that is not form-encoded with 415 naming the content type', async () => {
    const w = await world();
    const asked = await askForApproval(w);
    const form = interactivity(asked.json.approval, 'approve', 'ULEAD');
    const json = JSON.stringify({ payload: decodeURIComponent(form.slice(8)) });
    const asJson = await postSlack(w, json, { ...signed(json), 'content-type': 'application/json' });
    expect(asJson.status).toBe(415);
    expect(asJson.headers.get('content-type')).toContain('application/problem+json');
    expect(asJson.json).toMatchObject({
      code: 'MEDIA_TYPE_UNSUPPORTED',
      detail:
        'Slack request refused: Content-Type "application/json"; Slack interactivity callbacks are sent as application/x-www-form-urlencoded',
    });
    const asText = await postSlack(w, form, { ...signed(form), 'content-type': 'text/plain' });
    expect(asText.status).toBe(415);
    expect(asText.json.code).toBe('MEDIA_TYPE_UNSUPPORTED');
    const ts = Math.floor(Date.now() / 1000);
    const untyped = await fetch(`${w.base}/slack/interactivity`, {
      method: 'POST',
      headers: signed(form, ts),
      body: new TextEncoder().encode(form),
    });
    expect(untyped.status).toBe(415);
    expect(await untyped.json()).toMatchObject({
      code: 'MEDIA_TYPE_UNSUPPORTED',
      detail: expect.stringContaining('no Content-Type'),
    });
    expect(await w.world.db.kysely.selectFrom('approval_votes').selectAll().execute()).toEqual([]);
  });

  it('verifies the signature over the exact bytes received, so a form body altered after signing is refused', async () => {
    const w = await world();
    const asked = await askForApproval(w);
    const body = interactivity(asked.json.approval, 'approve', 'ULEAD');
    const headers = signed(body);
    // Same form fields once parsed, different bytes: the signature must not survive either change.
    for (const altered of [`${body}&`, body.replace('payload=', 'payload=%7B%7D&payload='), ` ${body}`]) {
      const res = await postSlack(w, altered, headers);
      expect(res.status).toBe(401);
      expect(res.json).toMatchObject({
        code: 'WEBHOOK_SIGNATURE_INVALID',
        detail: expect.stringContaining('does not match'),
      });
    }
    const ok = await postSlack(w, body, {
      ...headers,
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
    });
    expect(ok.status).toBe(200);
    expect(ok.json.text).toContain('Approved by lead@example.com: 1/2 approvals');
  });

  it('records refused Slack requests in the audit trail, counted per code and address', async () => {
    const w = await world();
    const body = interactivity('no-such-approval', 'approve', 'ULEAD');
    await postSlack(w, body, { 'x-slack-request-timestamp': '1', 'x-slack-signature': 'v0=00' });
    await postSlack(w, body, signed(''));
    await postSlack(w, body, signed(''));
    const json = JSON.stringify({ payload: 'x' });
    await postSlack(w, json, { ...signed(json), 'content-type': 'application/json' });
    // The counts are written when the window ends or the server closes.
    await w.app.close();
    const rows = await w.world.db.kysely
      .selectFrom('audit_records')
      .select(['source', 'outcome', 'details'])
      .where('action', '=', 'chat.rejected')
      .orderBy('seq')
      .execute();
    expect(rows.map((r) => [r.source, r.outcome, JSON.parse(r.details!).count])).toEqual([
      ['chat', 'WEBHOOK_SIGNATURE_INVALID', 3],
      ['chat', 'MEDIA_TYPE_UNSUPPORTED', 1],
    ]);
    expect(JSON.parse(rows[0]!.details!).ip).toBe('127.0.0.1');
  });

  it('refuses with 409 APPROVAL_STALE a click on a button that showed other params, counts no vote and records the refusal', async () => {
    const w = await world();
    const firstMessage = receiver!.next();
    const small = await askForApproval(w, 2_000_000);
    const smallButton = JSON.parse(
      JSON.parse((await firstMessage).body).blocks.find((b: { type: string }) => b.type === 'actions')
        .elements[0].value,
    );
    const big = await askForApproval(w, 9_000_000);
    // A button that showed the small run's params, pointed at the big run's request.
    const body = interactivity(
      JSON.stringify({ ...smallButton, id: big.json.approval.id }),
      'approve',
      'ULEAD',
    );
    const stale = await postSlack(w, body, signed(body));
    expect(stale.status).toBe(409);
    expect(stale.json).toMatchObject({
      code: 'APPROVAL_STALE',
      detail: expect.stringContaining(
        `you were shown params hash ${small.json.approval.params_hash} (the request's is ${big.json.approval.params_hash})`,
      ),
    });
    expect(stale.json.detail).toContain('what you saw is not what would run');
    const idOnly = interactivity(big.json.approval.id, 'approve', 'ULEAD');
    const old = await postSlack(w, idOnly, signed(idOnly));
    expect(old.status).toBe(400);
    expect(old.json).toMatchObject({
      code: 'REQUEST_INVALID',
      detail: expect.stringContaining('does not say which params hash and DAG version its message showed'),
    });
    expect(await w.world.db.kysely.selectFrom('approval_votes').selectAll().execute()).toEqual([]);
    const refusals = await w.world.db.kysely
      .selectFrom('audit_records')
      .selectAll()
      .where('action', '=', 'approve')
      .execute();
    expect(refusals.map((r) => [r.actor_id, r.source, r.approval_id, r.outcome])).toEqual([
      ['lead@example.com', 'chat', big.json.approval.id, 'refused'],
    ]);
    expect(JSON.parse(refusals[0]!.details!)).toMatchObject({
      code: 'APPROVAL_STALE',
      shown: { paramsHash: small.json.approval.params_hash },
    });
  });

  it('sends an approval message once a receiver that was down is back, even after a restart, with the same event id', async () => {
    const w = await world();
    const { server, warnings } = await onlyWebhook(w, '', 2);
    receiver!.answers.push(...Array.from({ length: 1_000 }, () => 503));
    const asked = await askForApproval(w);
    expect(asked.status).toBe(202);
    await expect.poll(() => warnings.length).toBeGreaterThan(0);
    expect(warnings[0]).toMatch(/failed 2 times \(last: HTTP 503\); it is sent again on the next pass$/);
    await stop!();

    // The receiver recovers while Airclutch is down; the next start delivers what it missed.
    receiver!.answers.length = 0;
    const delivered = receiver!.next();
    stop = await chatNotifications(w.world, server, { retryBaseMs: 5 });
    const event = JSON.parse((await delivered).body);
    const record = await w.world.db.kysely
      .selectFrom('audit_records')
      .select('seq')
      .where('approval_id', '=', asked.json.approval.id)
      .where('outcome', '=', 'awaiting_approval')
      .executeTakeFirstOrThrow();
    expect(event).toMatchObject({
      id: `audit-${record.seq}`,
      type: 'approval.requested',
      data: { approval: { id: asked.json.approval.id }, run: { id: asked.json.run.id } },
    });
    expect(receiver!.received).toHaveLength(1);
  });

  it('does not replay approvals recorded before a receiver was first configured', async () => {
    const w = await world();
    await stop!();
    const old = await askForApproval(w, 3_000_000);
    // A receiver configured now (another URL than the one `world` set up).
    await onlyWebhook(w, '?fresh=1', 2);
    const delivered = receiver!.next();
    const fresh = await askForApproval(w, 4_000_000);
    expect(JSON.parse((await delivered).body).data.approval.id).toBe(fresh.json.approval.id);
    expect(approvalIdsReceived()).not.toContain(old.json.approval.id);
  });

  it('tells webhooks when an approval request expires, from the expiry record', async () => {
    const w = await world();
    const asked = await askForApproval(w);
    await receiver!.next(); // the Slack message
    // An hour passes: the request's expiry is behind us when the sweep runs.
    await w.world.db.kysely
      .updateTable('approval_requests')
      .set({ expires_at: Date.now() - 1 })
      .where('id', '=', asked.json.approval.id)
      .execute();
    const event = receiver!.next();
    expect(await expireApprovals(w.world.gate)).toBe(1);
    expect(JSON.parse((await event).body)).toMatchObject({
      type: 'approval.closed',
      data: { state: 'expired', approval: { id: asked.json.approval.id, state: 'expired' } },
    });
  });

  it('tells receivers when an approval request closes because its run was cancelled, so it leaves inboxes', async () => {
    const w = await world();
    const asked = await askForApproval(w);
    await receiver!.next(); // the Slack message
    const event = receiver!.next();
    const cancelled = await w.call('POST', `/api/v1/runs/${asked.json.run.id}/cancel`, {
      token: await w.token('eng@example.com'),
      body: { reason: 'not needed' },
    });
    expect(cancelled.status).toBe(200);
    expect(JSON.parse((await event).body)).toMatchObject({
      type: 'approval.closed',
      data: { state: 'cancelled', approval: { id: asked.json.approval.id, state: 'cancelled' } },
    });
  });

  it('reports an event a receiver refuses for good (4xx) and goes on with the next one', async () => {
    const w = await world();
    const { warnings } = await onlyWebhook(w, '?refuses=1', 3);
    receiver!.answers.push(410);
    const refused = await askForApproval(w, 2_000_001);
    await expect.poll(() => warnings.length).toBe(1);
    expect(warnings[0]).toMatch(/refused the delivery \(HTTP 410\); not retried$/);
    const delivered = receiver!.next();
    const next = await askForApproval(w, 2_000_002);
    expect(JSON.parse((await delivered).body).data.approval.id).toBe(next.json.approval.id);
    expect(approvalIdsReceived()).not.toContain(refused.json.approval.id);
  });
});
