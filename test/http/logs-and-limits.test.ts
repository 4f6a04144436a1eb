import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.ts';
import { DIALECTS } from '../helpers/test-db.ts';
import { type HttpWorld, startHttpWorld } from './http-world.ts';

let h: HttpWorld | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function ndjson(text: string): any[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

describe.each(DIALECTS)('streamed logs on %s', (dialect) => {
  it('streams the log lines of a finished run as NDJSON, from a cursor, and ends with the state', async () => {
    h = await startHttpWorld({ dialect });
    await h.world.engine.start();
    const eng = await h.token('eng@example.com');
    const run = (await h.call('POST', '/api/v1/dags/chatty/runs', { token: eng, body: {} })).json.run;
    expect(await h.world.engine.waitForRun(run.id)).toBe('success');
    const all = await h.call('GET', `/api/v1/runs/${run.id}/logs`, { token: eng });
    expect(all.headers.get('content-type')).toContain('application/x-ndjson');
    const items = ndjson(all.text);
    expect(items.filter((i) => i.type === 'log').map((i) => i.line)).toEqual(['first line', 'second line']);
    expect(items.at(-1)).toMatchObject({ type: 'end', state: 'success' });
    const after = await h.call('GET', `/api/v1/runs/${run.id}/logs?after=${items[0].id}`, { token: eng });
    expect(
      ndjson(after.text)
        .filter((i) => i.type === 'log')
        .map((i) => i.line),
    ).toEqual(['second line']);
    const withTasks = await h.call('GET', `/api/v1/runs/${run.id}`, { token: eng });
    expect(withTasks.json.tasks).toMatchObject([{ task_id: 'talk', state: 'success' }]);
  });

  it('follows a running run until it ends, as Server-Sent Events', async () => {
    h = await startHttpWorld({ dialect });
    await h.world.engine.start();
    const eng = await h.token('eng@example.com');
    const run = (
      await h.call('POST', '/api/v1/dags/chatty/runs', { token: eng, body: { params: { pauseMs: 400 } } })
    ).json.run;
    const res = await h.call('GET', `/api/v1/runs/${run.id}/logs?follow=1&format=sse`, { token: eng });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = res.text.split('\n\n').filter(Boolean);
    expect(events.filter((e) => e.includes('event: log'))).toHaveLength(2);
    expect(events.at(-1)).toContain('event: end');
    expect(events.at(-1)).toContain('"state":"success"');
  });

  it('refuses logs to a caller without readLogs (403) and a malformed follow flag (400)', async () => {
    h = await startHttpWorld({ dialect });
    const eng = await h.token('eng@example.com');
    const run = (await h.call('POST', '/api/v1/dags/chatty/runs', { token: eng, body: {} })).json.run;
    const service = await h.idp.serviceToken();
    const denied = await h.call('GET', `/api/v1/runs/${run.id}/logs`, { token: service });
    expect(denied.status).toBe(403);
    expect(denied.json).toMatchObject({ code: 'POLICY_DENIED', detail: expect.stringContaining('readLogs') });
    const res = await h.call('GET', `/api/v1/runs/${run.id}/logs?follow=yes-please`, { token: eng });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({
      code: 'REQUEST_INVALID',
      detail: expect.stringContaining('querystring.follow'),
    });
  });

  it('ends followed streams when the server closes', async () => {
    h = await startHttpWorld({ dialect });
    await h.world.engine.start();
    const eng = await h.token('eng@example.com');
    const run = (
      await h.call('POST', '/api/v1/dags/chatty/runs', { token: eng, body: { params: { pauseMs: 1_500 } } })
    ).json.run;
    // The run has logged its first line, so the follow stream starts (its headers and that line
    // arrive) before the server closes, however slow the machine.
    await eventually(
      () => h!.call('GET', `/api/v1/runs/${run.id}/logs`, { token: eng }),
      (r) => r.text.includes('first line'),
    );
    const res = await fetch(`${h.base}/api/v1/runs/${run.id}/logs?follow=1`, {
      headers: { authorization: `Bearer ${eng}` },
    });
    expect(res.status).toBe(200);
    const closing = h.close();
    const text = await res.text();
    await closing;
    h = undefined;
    expect(text).toContain('first line');
  });
});

describe('rate limits', () => {
  it('limits requests per principal with 429 RATE_LIMITED', async () => {
    h = await startHttpWorld({ server: { rateLimit: { max: 3, windowMs: 60_000, tokenFailuresMax: 30 } } });
    const eng = await h.token('eng@example.com');
    const lead = await h.token('lead@example.com');
    for (let i = 0; i < 3; i++)
      expect((await h.call('GET', '/api/v1/whoami', { token: eng })).status).toBe(200);
    const limited = await h.call('GET', '/api/v1/whoami', { token: eng });
    expect(limited.status).toBe(429);
    expect(limited.json).toMatchObject({
      code: 'RATE_LIMITED',
      detail: expect.stringContaining('more than 3'),
    });
    // Another principal from the same address has its own budget.
    expect((await h.call('GET', '/api/v1/whoami', { token: lead })).status).toBe(200);
  });

  it('blocks an address after repeated token failures, even with a good token, until the window passes', async () => {
    let now = Date.now();
    h = await startHttpWorld({
      server: { rateLimit: { max: 1_000, windowMs: 60_000, tokenFailuresMax: 2 } },
      now: () => now,
    });
    const eng = await h.token('eng@example.com');
    for (let i = 0; i < 2; i++) {
      const bad = await h.call('GET', '/api/v1/whoami', { token: 'not.a.token' });
      expect(bad.json.code).toBe('TOKEN_MALFORMED');
    }
    const blocked = await h.call('GET', '/api/v1/whoami', { token: eng });
    expect(blocked.status).toBe(429);
    expect(blocked.json.detail).toContain('too many failed token checks');
    now += 61_000;
    expect((await h.call('GET', '/api/v1/whoami', { token: eng })).status).toBe(200);
  });
});
