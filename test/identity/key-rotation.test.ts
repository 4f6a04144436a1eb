import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { trustedIssuerSchema } from '../../src/identity/identity-config.ts';
import { OidcTokenVerifier } from '../../src/identity/oidc-token-verifier.ts';
import { type JwksServer, newKey, startJwksServer } from './helpers/jwks-server.ts';

const CLAIMS = { sub: 'ci-bot', client_id: 'ci-bot', aud: 'airclutch' };

let idp: JwksServer;
let verifier: OidcTokenVerifier;

beforeEach(async () => {
  // jose times its JWKS cooldown with Date.now(); freezing Date lets the test move past it without sleeping.
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
  idp = await startJwksServer('ES256');
  verifier = new OidcTokenVerifier({
    issuers: [
      trustedIssuerSchema.parse({ issuer: idp.issuer, audiences: ['airclutch'], jwksCooldownSec: 30 }),
    ],
  });
});
afterEach(async () => {
  vi.useRealTimers();
  await idp.close();
});

describe('JWKS cache', () => {
  it('fetches discovery and the JWKS once, then verifies from the cache', async () => {
    for (let i = 0; i < 20; i++) await verifier.verify(await idp.sign(CLAIMS));
    expect(idp.discoveryRequests()).toBe(1);
    expect(idp.jwksRequests()).toBe(1);
  });

  it('warms discovery and the JWKS before the first request', async () => {
    await verifier.warm();
    expect(idp.discoveryRequests()).toBe(1);
    expect(idp.jwksRequests()).toBe(1);
    await verifier.verify(await idp.sign(CLAIMS));
    expect(idp.jwksRequests()).toBe(1);
  });

  it('picks up a rotated key without a restart once the cooldown has passed', async () => {
    await verifier.verify(await idp.sign(CLAIMS));
    await idp.rotate();
    idp.retireOld();
    const rotated = await idp.sign(CLAIMS);
    await expect(verifier.verify(rotated)).rejects.toMatchObject({ code: 'KEY_UNKNOWN' });
    vi.setSystemTime(Date.now() + 31_000);
    await expect(verifier.verify(rotated)).resolves.toMatchObject({ kind: 'service', id: 'ci-bot' });
    expect(idp.jwksRequests()).toBe(2);
  });

  it('does not hammer the JWKS server under a flood of unknown kids', async () => {
    await verifier.verify(await idp.sign(CLAIMS));
    const stranger = await newKey('ES256', 'x');
    const flood = await Promise.all(
      Array.from({ length: 50 }, async (_, i) =>
        idp.sign(CLAIMS, { key: { ...stranger, kid: `unknown-${i}` } }),
      ),
    );
    const results = await Promise.allSettled(flood.map((t) => verifier.verify(t)));
    for (const r of results) expect(r).toMatchObject({ status: 'rejected', reason: { code: 'KEY_UNKNOWN' } });
    for (const t of flood) await expect(verifier.verify(t)).rejects.toMatchObject({ code: 'KEY_UNKNOWN' });
    expect(idp.jwksRequests()).toBe(1);
    // After the cooldown one more fetch is allowed, and only one, however many unknown kids arrive at once.
    vi.setSystemTime(Date.now() + 31_000);
    await Promise.allSettled(flood.map((t) => verifier.verify(t)));
    expect(idp.jwksRequests()).toBe(2);
  });

  it('reports an unreachable IdP as IDP_UNREACHABLE, naming the discovery URL', async () => {
    const dead = new OidcTokenVerifier({
      issuers: [trustedIssuerSchema.parse({ issuer: 'http://127.0.0.1:9', audiences: ['airclutch'] })],
    });
    const token = await idp.sign({ ...CLAIMS, iss: 'http://127.0.0.1:9' });
    const e = await dead.verify(token).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'IDP_UNREACHABLE' });
    expect((e as Error).message).toContain(
      'discovery at http://127.0.0.1:9/.well-known/openid-configuration failed',
    );
  });
});
