import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlAuditLog } from '../../src/audit/sql-audit-log.ts';
import { sessionPlugin } from '../../src/http/session-plugin.ts';
import { type DevIdp, startDevIdp } from '../../src/identity/dev-idp.ts';
import { identityConfigSchema, trustedIssuerSchema } from '../../src/identity/identity-config.ts';
import { OidcLogin } from '../../src/identity/oidc-login.ts';
import { OidcTokenVerifier } from '../../src/identity/oidc-token-verifier.ts';
import { PrincipalMapper } from '../../src/identity/principal-mapper.ts';
import { DbSessionStore } from '../../src/identity/session-store.ts';
import { freePort } from '../helpers/free-port.ts';
import { createTestDb, DIALECTS, type TestDb } from '../helpers/test-db.ts';
import { TestBrowser } from './helpers/browser.ts';

describe.each(DIALECTS)('sign-in with the dev IdP (%s store)', (dialect) => {
  let dir: string;
  let idp: DevIdp;
  let db: TestDb;
  let app: FastifyInstance;
  let base: string;
  let clock = Date.now();
  let store: DbSessionStore;
  let verifier: OidcTokenVerifier;
  let audit: SqlAuditLog;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'airclutch-signin-'));
    idp = await startDevIdp({ port: 0, dataDir: dir, quiet: true });
    db = await createTestDb(dialect);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    verifier = OidcTokenVerifier.fromConfig(
      identityConfigSchema.parse({ devIdp: { port: Number(new URL(idp.issuer).port) } }),
    );
    store = new DbSessionStore(db, { lifetimeSec: 3600, idleTimeoutSec: 600 });
    const login = new OidcLogin(
      {
        issuer: idp.issuer,
        clientId: 'airclutch-web',
        redirectUri: `${base}/auth/callback`,
        scopes: ['openid', 'email', 'profile'],
      },
      store,
      verifier,
    );
    app = Fastify();
    audit = new SqlAuditLog(db, { hmacKey: Buffer.from('k'.repeat(32)) });
    await app.register(sessionPlugin, { login, store, publicUrl: base, now: () => clock, audit });
    app.post('/runs', async (req) => ({ ok: true, by: req.session?.principal.id }));
    await app.listen({ port, host: '127.0.0.1' });
  });
  // Optional calls: a failed beforeAll must still close whatever it had started.
  afterAll(async () => {
    await app?.close();
    await audit?.close();
    await idp?.close();
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // Drives oidc-provider's dev interactions: the login form, then (native clients) the consent form.
  async function signIn(browser: TestBrowser, email: string) {
    const toIdp = await browser.follow(`${base}/auth/login?returnTo=/runs`, (u) =>
      u.includes('/interaction/'),
    );
    let hop = await browser.request(toIdp.location!, {
      form: { prompt: 'login', login: email, password: 'dev' },
    });
    hop = await browser.follow(hop.location!, (u) => u === `${base}/runs`);
    if (hop.body.includes('value="consent"')) {
      hop = await browser.request(hop.url, { form: { prompt: 'consent' } });
      hop = await browser.follow(hop.location!, (u) => u === `${base}/runs`);
    }
    return hop;
  }

  /** Signs in from `/auth/login?returnTo=<rawQuery>` and answers where the callback sends the browser. */
  async function landingAfterSignIn(browser: TestBrowser, email: string, rawQuery: string) {
    const atCallback = (u: string) => u.startsWith(`${base}/auth/callback`);
    let hop = await browser.follow(`${base}/auth/login?returnTo=${rawQuery}`, (u) =>
      u.includes('/interaction/'),
    );
    hop = await browser.request(hop.location!, {
      form: { prompt: 'login', login: email, password: 'dev' },
    });
    hop = await browser.follow(hop.location!, atCallback);
    if (hop.body.includes('value="consent"')) {
      hop = await browser.request(hop.url, { form: { prompt: 'consent' } });
      hop = await browser.follow(hop.location!, atCallback);
    }
    const callback = await browser.request(hop.location!);
    expect(callback.status).toBe(302);
    // Hop.location is resolved the way a browser resolves a Location header (WHATWG URL).
    return callback.location!;
  }

  // Raw query strings, as an attacker would put them in a link; tabs and newlines percent-encoded
  // because fetch (like a browser) strips them from a URL before sending it.
  it.each([
    '/\\evil.example/x',
    '/%09/evil.example',
    '/\\/evil.example',
    '//evil.example',
    '/%2F%2Fevil.example',
    '/%252F%252Fevil.example',
    '/%5Cevil.example',
    '/%255Cevil.example',
    '%2F%09%2Fevil.example',
    '/%0a/evil.example',
    '/%250a/evil.example',
    '/%0d%0a/evil.example',
    'https://evil.example',
    'https%3A%2F%2Fevil.example%2Fx',
    'javascript:alert(1)',
  ])('sends the browser home instead of off-site after sign-in for returnTo=%s', async (rawQuery) => {
    const landed = await landingAfterSignIn(new TestBrowser(), 'eng@example.com', rawQuery);
    expect(landed).toBe(`${base}/`);
  });

  it('sends the browser back to a local path with its query and fragment after sign-in', async () => {
    const landed = await landingAfterSignIn(
      new TestBrowser(),
      'eng@example.com',
      encodeURIComponent('/runs/abc?x=1#y'),
    );
    expect(landed).toBe(`${base}/runs/abc?x=1#y`);
  });

  it('signs a person in with code + PKCE and keeps the session on the server behind an HttpOnly SameSite cookie', async () => {
    const browser = new TestBrowser();
    const landed = await signIn(browser, 'eng@example.com');
    expect(landed.location).toBe(`${base}/runs`);
    const cookie = landed.setCookies.find((c) => c.startsWith('airclutch_session='))!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).not.toMatch(/Secure/i);
    const me = await browser.request(`${base}/auth/session`);
    expect(JSON.parse(me.body).principal).toMatchObject({
      kind: 'user',
      id: 'eng@example.com',
      groups: ['data-eng'],
    });
    const stored = await db.kysely.selectFrom('sessions').select('id_hash').execute();
    expect(stored.map((r) => r.id_hash)).not.toContain(browser.cookie(base, 'airclutch_session'));
    const signins = await db.kysely
      .selectFrom('audit_records')
      .select(['action', 'actor_id', 'outcome'])
      .where('action', '=', 'signin')
      .execute();
    expect(signins).toContainEqual({ action: 'signin', actor_id: 'eng@example.com', outcome: 'signed_in' });
  });

  it('refuses a state-changing post without the session CSRF token and accepts it with the token', async () => {
    const browser = new TestBrowser();
    await signIn(browser, 'lead@example.com');
    const { csrfToken } = JSON.parse((await browser.request(`${base}/auth/session`)).body);
    const refused = await browser.request(`${base}/runs`, { form: { dag: 'x' } });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toMatchObject({
      code: 'CSRF_INVALID',
      message: expect.stringContaining('CSRF token'),
    });
    const ok = await browser.request(`${base}/runs`, { form: { dag: 'x', _csrf: csrfToken } });
    expect(JSON.parse(ok.body)).toEqual({ ok: true, by: 'lead@example.com' });
  });

  it('ends a session idle for longer than the idle timeout', async () => {
    const browser = new TestBrowser();
    await signIn(browser, 'eng@example.com');
    clock += 601_000;
    const me = await browser.request(`${base}/auth/session`);
    expect(me.status).toBe(401);
    expect(JSON.parse(me.body)).toMatchObject({ code: 'SESSION_INVALID' });
  });

  it('purges sessions past their idle timeout from the store', async () => {
    const browser = new TestBrowser();
    await signIn(browser, 'eng@example.com');
    clock += 601_000;
    expect(await store.purge(clock, 600_000)).toBeGreaterThanOrEqual(1);
    expect(await db.kysely.selectFrom('sessions').select('id_hash').execute()).toEqual([]);
  });

  it('refuses a callback whose state was not issued to this browser', async () => {
    const browser = new TestBrowser();
    const res = await browser.request(`${base}/auth/callback?code=abc&state=forged`);
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toMatchObject({
      code: 'LOGIN_FAILED',
      detail: expect.stringContaining('state does not match'),
    });
    const failed = await db.kysely
      .selectFrom('audit_records')
      .select(['outcome', 'details'])
      .where('action', '=', 'signin')
      .where('outcome', '=', 'failed')
      .execute();
    expect(failed.map((r) => JSON.parse(r.details!).code)).toContain('LOGIN_FAILED');
  });

  it('logs out locally and at the IdP (RP-initiated logout with the id_token_hint)', async () => {
    const browser = new TestBrowser();
    await signIn(browser, 'admin@example.com');
    const { csrfToken } = JSON.parse((await browser.request(`${base}/auth/session`)).body);
    const out = await browser.request(`${base}/auth/logout`, { form: { _csrf: csrfToken } });
    expect(out.status).toBe(303);
    expect(out.location).toContain(`${idp.issuer}/session/end`);
    expect(out.location).toContain('id_token_hint=');
    expect((await browser.request(`${base}/auth/session`)).status).toBe(401);
  });

  it('maps the principal from the validated ID token when configured for opaque access tokens', async () => {
    const mapper = new PrincipalMapper(
      trustedIssuerSchema.parse({ issuer: idp.issuer, audiences: ['airclutch-web'] }),
    );
    // Stops before the callback: complete() is called directly, as a custom server would.
    const redirectUri = `${base}/auth/callback`;
    const login = new OidcLogin(
      {
        issuer: idp.issuer,
        clientId: 'airclutch-web',
        redirectUri,
        scopes: ['openid', 'email', 'profile', 'groups'],
        idTokenMapper: mapper,
      },
      store,
      verifier,
    );
    const { url, state } = await login.begin('/', clock);
    const b = new TestBrowser();
    let hop = await b.follow(url, (u) => u.includes('/interaction/'));
    hop = await b.request(hop.location!, {
      form: { prompt: 'login', login: 'lead2@example.com', password: 'dev' },
    });
    hop = await b.follow(hop.location!, (u) => u.startsWith(redirectUri));
    if (hop.body.includes('value="consent"')) {
      hop = await b.request(hop.url, { form: { prompt: 'consent' } });
      hop = await b.follow(hop.location!, (u) => u.startsWith(redirectUri));
    }
    const done = await login.complete(new URL(hop.location!), state, clock);
    expect(done.principal).toMatchObject({ kind: 'user', id: 'lead2@example.com', groups: ['data-leads'] });
    expect(done.principal.issuer).toBe(idp.issuer);
  });
});
