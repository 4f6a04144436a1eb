import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginWithDeviceCode } from '../../src/identity/cli-device-login.ts';
import { freshAccessToken, loginWithLoopback } from '../../src/identity/cli-login.ts';
import { CliTokenStore, cliConfigDir } from '../../src/identity/cli-token-store.ts';
import { type DevIdp, startDevIdp } from '../../src/identity/dev-idp.ts';
import { identityConfigSchema } from '../../src/identity/identity-config.ts';
import { identityDoctor } from '../../src/identity/identity-doctor.ts';
import { OidcTokenVerifier } from '../../src/identity/oidc-token-verifier.ts';
import { TestBrowser } from './helpers/browser.ts';

let dir: string;
let idp: DevIdp;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'airclutch-cli-'));
  idp = await startDevIdp({ port: 0, dataDir: dir, quiet: true });
});
afterAll(async () => {
  await idp.close();
  rmSync(dir, { recursive: true, force: true });
});

// Plays the person at the browser: the dev IdP's login form, then its consent form.
async function signInAs(email: string, url: string, mfa = false): Promise<void> {
  const b = new TestBrowser();
  let hop = await b.follow(url, (u) => u.includes('/interaction/'));
  const form = { prompt: 'login', login: email, password: 'dev', ...(mfa ? { mfa: 'yes' } : {}) };
  hop = await b.request(hop.location!, { form });
  hop = await b.follow(hop.location!, (u) => u.includes('/interaction/') || u.includes('/callback'));
  if (hop.location?.includes('/interaction/')) {
    hop = await b.request(hop.location, { form: { prompt: 'consent' } });
    await b.follow(hop.location!);
  } else {
    await b.follow(hop.location!);
  }
}

describe('airclutch login', () => {
  it('signs in through a loopback redirect with PKCE and stores a verifiable token with mode 0600', async () => {
    const tokens = await loginWithLoopback({
      issuer: idp.issuer,
      clientId: 'airclutch-cli',
      scopes: ['openid', 'email', 'offline_access'],
      openBrowser: (url) => signInAs('lead2@example.com', url),
    });
    expect(tokens.refreshToken).toBeTruthy();
    const store = new CliTokenStore(join(dir, 'config', 'airclutch'));
    store.save(tokens);
    expect(statSync(store.file).mode & 0o777).toBe(0o600);
    const verifier = OidcTokenVerifier.fromConfig(
      identityConfigSchema.parse({ devIdp: { port: Number(new URL(idp.issuer).port) } }),
    );
    await expect(verifier.verify(tokens.accessToken)).resolves.toMatchObject({
      id: 'lead2@example.com',
      groups: ['data-leads'],
    });

    // Within the refresh window the token is refreshed before use, and the new one is stored.
    const refreshed = await freshAccessToken(store, 60, tokens.expiresAt - 30_000);
    expect(refreshed.accessToken).not.toBe(tokens.accessToken);
    expect(store.load()?.accessToken).toBe(refreshed.accessToken);
  });

  // The IdP sets no polling interval, so the first poll waits the RFC 8628 default of 5 s.
  it('signs in with the device code flow, the person entering the code in a browser', async () => {
    const tokens = await loginWithDeviceCode({
      issuer: idp.issuer,
      clientId: 'airclutch-cli',
      scopes: ['openid', 'email'],
      show: async (p) => {
        const b = new TestBrowser();
        const confirm = await b.request(p.verificationUriComplete!);
        const hidden = (name: string) =>
          new RegExp(`name="${name}" value="([^"]*)"`).exec(confirm.body)?.[1] ?? '';
        let hop = await b.request(`${idp.issuer}/device`, {
          form: { xsrf: hidden('xsrf'), user_code: hidden('user_code'), confirm: 'yes' },
        });
        hop = await b.follow(hop.location!, (u) => u.includes('/interaction/'));
        hop = await b.request(hop.location ?? hop.url, {
          form: { prompt: 'login', login: 'eng@example.com', password: 'dev' },
        });
        hop = await b.follow(hop.location!, (u) => u.includes('/interaction/'));
        if (hop.location?.includes('/interaction/')) {
          hop = await b.request(hop.location, { form: { prompt: 'consent' } });
          await b.follow(hop.location!);
        }
      },
    });
    const verifier = OidcTokenVerifier.fromConfig(
      identityConfigSchema.parse({ devIdp: { port: Number(new URL(idp.issuer).port) } }),
    );
    await expect(verifier.verify(tokens.accessToken)).resolves.toMatchObject({
      id: 'eng@example.com',
      groups: ['data-eng'],
    });
  });

  it('carries the second factor ticked at the dev IdP into the access token, and keeps it through a refresh', async () => {
    const tokens = await loginWithLoopback({
      issuer: idp.issuer,
      clientId: 'airclutch-cli',
      scopes: ['openid', 'email', 'offline_access'],
      openBrowser: (url) => signInAs('lead@example.com', url, true),
    });
    const verifier = OidcTokenVerifier.fromConfig(
      identityConfigSchema.parse({ devIdp: { port: Number(new URL(idp.issuer).port) } }),
    );
    expect((await verifier.verify(tokens.accessToken)).token?.amr).toEqual(['pwd', 'mfa']);
    const store = new CliTokenStore(join(dir, 'config-mfa', 'airclutch'));
    store.save(tokens);
    const refreshed = await freshAccessToken(store, 60, tokens.expiresAt - 30_000);
    expect(refreshed.accessToken).not.toBe(tokens.accessToken);
    expect((await verifier.verify(refreshed.accessToken)).token?.amr).toEqual(['pwd', 'mfa']);
  });

  it('keeps tokens under $XDG_CONFIG_HOME/airclutch when set, else ~/.config/airclutch', () => {
    expect(cliConfigDir({ XDG_CONFIG_HOME: '/x' })).toBe('/x/airclutch');
    expect(cliConfigDir({})).toMatch(/\.config\/airclutch$/);
  });

  it('says to log in when no token is stored', async () => {
    await expect(freshAccessToken(new CliTokenStore(join(dir, 'nobody')), 60)).rejects.toMatchObject({
      code: 'TOKEN_MISSING',
      message: expect.stringContaining('airclutch login'),
    });
  });
});

describe('airclutch doctor', () => {
  it('reports the dev IdP healthy: discovery, JWKS, algorithms, clock and lifetimes', async () => {
    const findings = await identityDoctor(
      identityConfigSchema.parse({ devIdp: { port: Number(new URL(idp.issuer).port) } }),
    );
    expect(findings.filter((f) => !f.ok)).toEqual([]);
    expect(findings.map((f) => f.check)).toEqual(
      expect.arrayContaining(['discovery', 'clock', 'jwks', 'algorithms', 'token lifetime']),
    );
  });

  it('prints each problem with its fix: unreachable IdP, wrong algorithms, skewed clock', async () => {
    const identity = identityConfigSchema.parse({
      devIdp: { enabled: false },
      issuers: [
        { issuer: idp.issuer, audiences: ['airclutch'], algorithms: ['PS512'], tokenLifetimeSec: 86_400 },
        { issuer: 'http://127.0.0.1:9', audiences: ['x'] },
      ],
    });
    const skewed = () => Date.now() + 600_000;
    const findings = await identityDoctor(identity, skewed);
    const problems = Object.fromEntries(
      findings.filter((f) => !f.ok).map((f) => [`${f.issuer} ${f.check}`, f]),
    );
    expect(problems[`${idp.issuer} algorithms`]?.fix).toContain('add the IdP');
    expect(problems[`${idp.issuer} clock`]?.fix).toContain('NTP');
    expect(problems[`${idp.issuer} token lifetime`]?.fix).toContain('shorten');
    expect(problems['http://127.0.0.1:9 discovery']?.detail).toContain('unreachable');
  });
});
