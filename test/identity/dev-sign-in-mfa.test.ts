/**
 * The dev IdP's browser sign-in can say a second factor was used, as `airclutch dev token --mfa`
 * does: the ID and access tokens carry `amr`, the session keeps it, and a break-glass policy that
 * reads `context.token.mfa` lets the browser session through only then.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../src/http/create-server.ts';
import { type DevIdp, startDevIdp } from '../../src/identity/dev-idp.ts';
import { identityConfigSchema } from '../../src/identity/identity-config.ts';
import { OidcLogin } from '../../src/identity/oidc-login.ts';
import { OidcTokenVerifier } from '../../src/identity/oidc-token-verifier.ts';
import { DbSessionStore } from '../../src/identity/session-store.ts';
import { freePort } from '../helpers/free-port.ts';
import { createWorld, type World } from '../helpers/gate-world.ts';
import { TestBrowser } from './helpers/browser.ts';

const BREAK_GLASS = {
  'policies/break-glass.cedar': `
@reason("leads break glass with a second factor")
permit (principal in Group::"data-leads", action == Action::"breakGlass", resource) when { context.token.mfa };
`,
};

describe('browser sign-in with a second factor in the dev IdP', { timeout: 120_000 }, () => {
  let dir: string;
  let idp: DevIdp;
  let world: World;
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'airclutch-mfa-signin-'));
    idp = await startDevIdp({ port: 0, dataDir: dir, quiet: true });
    world = await createWorld('sqlite', { files: BREAK_GLASS });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const verifier = OidcTokenVerifier.fromConfig(
      identityConfigSchema.parse({ devIdp: { port: Number(new URL(idp.issuer).port) } }),
    );
    const store = new DbSessionStore(world.db, { lifetimeSec: 3600, idleTimeoutSec: 600 });
    const login = new OidcLogin(
      {
        issuer: idp.issuer,
        clientId: 'airclutch-web',
        redirectUri: `${base}/auth/callback`,
        scopes: ['openid', 'email', 'profile', 'groups'],
      },
      store,
      verifier,
    );
    app = await createServer(world, {
      verifier,
      ui: false,
      signIn: { login, store, publicUrl: base, cookieName: 'airclutch_session' },
    });
    await app.listen({ port, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app?.close();
    await world?.dispose();
    await idp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Fills the dev IdP's login form like a person, ticking "second factor (dev)" when `mfa`. */
  async function signIn(email: string, mfa: boolean) {
    const browser = new TestBrowser();
    const atIdp = await browser.follow(`${base}/auth/login?returnTo=/`, (u) => u.includes('/interaction/'));
    const form = await browser.request(atIdp.location!);
    const form2 = {
      prompt: 'login',
      login: email,
      password: 'dev',
      ...(mfa ? { mfa: 'yes' } : {}),
    };
    let hop = await browser.request(atIdp.location!, { form: form2 });
    hop = await browser.follow(hop.location!, (u) => u === `${base}/`);
    if (hop.body.includes('value="consent"')) {
      hop = await browser.request(hop.url, { form: { prompt: 'consent' } });
      hop = await browser.follow(hop.location!, (u) => u === `${base}/`);
    }
    expect(hop.location).toBe(`${base}/`);
    const session = JSON.parse((await browser.request(`${base}/auth/session`)).body);
    return { browser, loginPage: form.body, session };
  }

  async function breakGlass(browser: TestBrowser, csrfToken: string) {
    const res = await fetch(`${base}/api/v1/dags/revenue/break-glass`, {
      method: 'POST',
      headers: {
        cookie: `airclutch_session=${browser.cookie(base, 'airclutch_session')}`,
        'x-csrf-token': csrfToken,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ params: { rows: 5 }, reason: 'prod is down' }),
    });
    return { status: res.status, body: (await res.json()) as any };
  }

  it('offers a second-factor choice on its login form', async () => {
    const { loginPage } = await signIn('eng@example.com', false);
    expect(loginPage).toContain('name="login"');
    expect(loginPage).toContain('name="password"');
    expect(loginPage).toMatch(/<input type="checkbox" name="mfa"[^>]*>\s*Second factor \(dev\)/);
  });

  it('puts amr pwd+mfa in the ID token and the session when the second factor is ticked, and the session may break glass', async () => {
    const { browser, session } = await signIn('lead@example.com', true);
    expect(session.principal).toMatchObject({ id: 'lead@example.com', groups: ['data-leads'] });
    expect(session.principal.token.amr).toEqual(['pwd', 'mfa']);
    const row = await world.db.kysely
      .selectFrom('sessions')
      .select('id_token')
      .where('subject', '=', 'lead@example.com')
      .executeTakeFirstOrThrow();
    expect(decodeJwt(row.id_token!).amr).toEqual(['pwd', 'mfa']);
    const res = await breakGlass(browser, session.csrfToken);
    expect(res.status).toBe(201);
    expect(res.body.run).toMatchObject({ dag_id: 'revenue', break_glass: true, source: 'ui' });
    const record = await world.db.kysely
      .selectFrom('audit_records')
      .select(['actor_id', 'source', 'outcome'])
      .where('action', '=', 'breakGlass')
      .where('actor_id', '=', 'lead@example.com')
      .executeTakeFirstOrThrow();
    expect(record.source).toBe('ui');
  });

  it('says only pwd without the second factor, and the same break-glass is refused with the policy to satisfy', async () => {
    const { browser, session } = await signIn('lead2@example.com', false);
    expect(session.principal.token.amr).toEqual(['pwd']);
    const res = await breakGlass(browser, session.csrfToken);
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('POLICY_DENIED');
    expect(res.body.detail).toContain('breakGlass');
  });

  it('answers a sign-in step it does not know (expired, or no cookie) by saying to start again', async () => {
    const res = await new TestBrowser().request(`${idp.issuer}/interaction/no-such-step`);
    expect(res.status).toBe(400);
    expect(res.body).toContain('Start the sign-in again from the application.');
  });

  it('refuses a person the dev IdP does not know, naming the demo people', async () => {
    const browser = new TestBrowser();
    const atIdp = await browser.follow(`${base}/auth/login?returnTo=/`, (u) => u.includes('/interaction/'));
    const res = await browser.request(atIdp.location!, {
      form: { prompt: 'login', login: 'mallory@example.com', password: 'x' },
    });
    expect(res.status).toBe(400);
    expect(res.body).toContain('no demo person mallory@example.com; known: eng@example.com');
  });
});
