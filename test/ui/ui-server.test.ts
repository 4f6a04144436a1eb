/**
 * The server side of the web UI on a real server: the built app at `/` with deep links that survive
 * a reload, the API's 404s kept as problems, a clear page when the app is not built, and the live
 * events stream, filtered by what Cedar lets each caller view and closed with the server.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpWorld, startHttpWorld } from '../http/http-world.ts';

const INDEX =
  '<!doctype html><html><head><script type="module" src="/assets/app-1a2b.js"></script></head><body><div id="root"></div></body></html>';

describe('serving the web UI', () => {
  let dir: string;
  let h: HttpWorld;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'airclutch-ui-dist-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), INDEX);
    writeFileSync(join(dir, 'assets', 'app-1a2b.js'), 'console.log("app");');
    h = await startHttpWorld({ ui: { dir } });
  });
  afterAll(async () => {
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the app at / and the same page for a deep link such as /runs/<id>, so a reload works', async () => {
    for (const path of ['/', '/runs/r-123', '/dags/prod/revenue?x=1', '/approvals', '/approvals/a-123']) {
      const res = await h.call('GET', path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toMatch(/^text\/html/);
      expect(res.text, path).toBe(INDEX);
      expect(res.headers.get('content-security-policy'), path).toContain("script-src 'self'");
    }
  });

  it('serves the built assets with long caching', async () => {
    const res = await h.call('GET', '/assets/app-1a2b.js');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/javascript/);
    expect(res.headers.get('cache-control')).toContain('immutable');
    expect(res.text).toBe('console.log("app");');
  });

  it('answers a missing asset or an unknown API path with a NOT_FOUND problem, never the app page', async () => {
    for (const path of ['/assets/gone-9z.js', '/api/v1/nothing', '/auth/nothing']) {
      const res = await h.call('GET', path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type'), path).toMatch(/^application\/problem\+json/);
      expect(res.json, path).toMatchObject({
        code: 'NOT_FOUND',
        detail: `no route GET ${path}: see /openapi.json`,
      });
    }
  });
});

describe('a server whose UI is not built', () => {
  let h: HttpWorld;
  beforeAll(async () => {
    h = await startHttpWorld({ ui: { dir: join(tmpdir(), 'airclutch-no-ui-here') } });
  });
  afterAll(async () => h?.close());

  it('answers every page with a page saying how to build the UI, and the API still works', async () => {
    const res = await h.call('GET', '/runs/r-1');
    expect(res.status).toBe(503);
    expect(res.text).toContain('The web UI is not built');
    expect(res.text).toContain('npm run build:ui');
    const api = await h.call('GET', '/api/v1/dags', { token: await h.token('eng@example.com') });
    expect(api.status).toBe(200);
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

describe('GET /api/v1/events', () => {
  let h: HttpWorld;
  beforeAll(async () => {
    h = await startHttpWorld({
      ui: false,
      // Admins may view chatty's runs only; engineers may view everything (roles.cedar).
      files: {
        'policies/audit.cedar': `
@reason("admins watch chatty")
permit (principal in Group::"admins", action == Action::"view", resource is Run in Dag::"dev/chatty");
`,
      },
    });
    await h.world.engine.start();
  });
  afterAll(async () => h?.close());

  const open = async (email: string) =>
    fetch(`${h.base}/api/v1/events`, { headers: { authorization: `Bearer ${await h.token(email)}` } });

  it('refuses a caller without a token with TOKEN_MISSING', async () => {
    const res = await h.call('GET', '/api/v1/events');
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ code: expect.stringMatching(/^TOKEN_/), detail: expect.any(String) });
  });

  it('streams run and task changes only to callers whom Cedar lets view the run, and ends when the server closes', async () => {
    const engStream = await open('eng@example.com');
    const adminStream = await open('admin@example.com');
    expect(engStream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await readUntil(engStream, (t) => t.includes(': connected'));
    await readUntil(adminStream, (t) => t.includes(': connected'));
    const eng = await h.token('eng@example.com');
    const hidden = await h.call('POST', '/api/v1/dags/revenue/runs', {
      token: eng,
      body: { params: { rows: 3 } },
    });
    expect(hidden.status).toBe(201);
    const shown = await h.call('POST', '/api/v1/dags/chatty/runs', { token: eng, body: {} });
    expect(shown.status).toBe(201);
    const chattyDone = `"runId":"${shown.json.run.id}","env":"dev","dagId":"chatty","state":"success"`;
    const revenueDone = `"runId":"${hidden.json.run.id}","env":"dev","dagId":"revenue","state":"success"`;

    const engText = await readUntil(engStream, (t) => t.includes(chattyDone) && t.includes(revenueDone));
    expect(engText).toContain(`event: task\ndata: {"runId":"${hidden.json.run.id}","taskId":"load"`);
    // Events reach each stream in order, so once chatty's end arrives, revenue's would have come before it.
    const adminText = await readUntil(adminStream, (t) => t.includes(chattyDone));
    expect(adminText).toContain(`event: task\ndata: {"runId":"${shown.json.run.id}","taskId":"talk"`);
    expect(adminText).not.toContain(hidden.json.run.id);

    await h.app.close();
    const rest = await readUntil(engStream, () => false);
    expect(rest).not.toContain('event:');
  });
});
