import { Buffer } from 'node:buffer';
import { exportSPKI, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trustedIssuerSchema } from '../../src/identity/identity-config.ts';
import { OidcTokenVerifier } from '../../src/identity/oidc-token-verifier.ts';
import type { AirclutchError } from '../../src/lib/errors.ts';
import { type JwksServer, newKey, startJwksServer } from './helpers/jwks-server.ts';

// 10:44:19Z, so a token that expired at 10:41:07Z did so 3m12s ago.
const NOW_SEC = Date.UTC(2025, 0, 15, 10, 44, 19) / 1000;
const USER = {
  sub: 'u-1',
  email: 'eng@example.com',
  name: 'Eve Engineer',
  groups: ['data-eng'],
  aud: 'airclutch',
  client_id: 'airclutch-cli',
  scope: 'openid airclutch:trigger',
  jti: 'j-1',
  amr: ['pwd', 'mfa'],
  auth_time: NOW_SEC - 100,
};

let idp: JwksServer;
let verifier: OidcTokenVerifier;

beforeAll(async () => {
  idp = await startJwksServer('RS256');
  verifier = new OidcTokenVerifier({
    issuers: [
      trustedIssuerSchema.parse({
        issuer: idp.issuer,
        audiences: ['airclutch'],
        algorithms: ['RS256'],
        typ: 'at+jwt',
        tokenLifetimeSec: 300,
      }),
    ],
    requiredScopes: { trigger: ['airclutch:trigger'], approve: ['airclutch:approve'] },
    now: () => NOW_SEC * 1000,
  });
});
afterAll(() => idp.close());

const sign = (claims: Record<string, unknown>, opts: Parameters<JwksServer['sign']>[1] = {}) =>
  idp.sign(claims, { iat: NOW_SEC - 10, exp: NOW_SEC + 290, ...opts });

async function refusal(token: string, options?: { action?: string }): Promise<AirclutchError> {
  const e = (await verifier.verify(token, options).then(
    () => undefined,
    (err: unknown) => err,
  )) as AirclutchError | undefined;
  if (!e) throw new Error('expected the token to be refused');
  // Short fixtures such as "a.b" are substrings of ordinary words; real tokens are checked.
  if (token.length > 40) {
    expect(e.message).not.toContain(token);
    for (const part of token.split('.')) if (part.length > 20) expect(e.message).not.toContain(part);
  }
  return e;
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('OidcTokenVerifier', () => {
  it('maps a person token to a User principal with groups and token facts', async () => {
    const p = await verifier.verify(await sign(USER), { action: 'trigger' });
    expect(p).toMatchObject({
      kind: 'user',
      id: 'eng@example.com',
      displayName: 'Eve Engineer',
      groups: ['data-eng'],
      issuer: idp.issuer,
      subject: 'u-1',
      token: {
        jti: 'j-1',
        clientId: 'airclutch-cli',
        scopes: ['openid', 'airclutch:trigger'],
        amr: ['pwd', 'mfa'],
      },
    });
    expect(p.token?.expiresAt).toBe(NOW_SEC + 290);
  });

  it('maps a client-credentials token to a Service principal named after the client', async () => {
    const p = await verifier.verify(await sign({ sub: 'ci-bot', client_id: 'ci-bot', aud: 'airclutch' }));
    expect(p).toMatchObject({ kind: 'service', id: 'ci-bot', groups: [] });
  });

  it('refuses a person token without an email as unmapped instead of treating it as its client', async () => {
    const e = await refusal(await sign({ sub: 'u-2', client_id: 'airclutch-cli', aud: 'airclutch' }));
    expect(e.code).toBe('PRINCIPAL_UNMAPPED');
    expect(e.message).toContain('matches no principal rule');
  });
});

describe('attack matrix: each token is refused with its code and a message that says why', () => {
  it('refuses a forged token signed by a key the issuer never published', async () => {
    const forger = await newKey('RS256', 'k1');
    const e = await refusal(await sign(USER, { key: forger }));
    expect(e.code).toBe('SIGNATURE_INVALID');
    expect(e.message).toContain('altered or forged');
  });

  it('refuses a token whose payload was tampered with after signing', async () => {
    const [h, , s] = (await sign(USER)).split('.');
    const e = await refusal(
      `${h}.${b64({ ...USER, iss: idp.issuer, email: 'admin@example.com', iat: NOW_SEC, exp: NOW_SEC + 60 })}.${s}`,
    );
    expect(e.code).toBe('SIGNATURE_INVALID');
  });

  it('refuses a token naming a kid the JWKS does not have', async () => {
    const e = await refusal(await sign(USER, { key: await newKey('RS256', 'wrong-kid') }));
    expect(e.code).toBe('KEY_UNKNOWN');
    expect(e.message).toContain('"wrong-kid"');
  });

  it('refuses an expired token saying how long ago, when, and how long tokens live', async () => {
    const exp = Date.UTC(2025, 0, 15, 10, 41, 7) / 1000;
    const e = await refusal(await sign(USER, { iat: exp - 300, exp }));
    expect(e.code).toBe('TOKEN_EXPIRED');
    expect(e.message).toContain("expired 3m12s ago at 10:41:07Z; this issuer's tokens live 5m");
  });

  it('re-checks expiry and scopes of a token it verified before, however recently', async () => {
    let now = NOW_SEC * 1000;
    const clocked = new OidcTokenVerifier({
      issuers: [
        trustedIssuerSchema.parse({
          issuer: idp.issuer,
          audiences: ['airclutch'],
          algorithms: ['RS256'],
          typ: 'at+jwt',
        }),
      ],
      requiredScopes: { approve: ['airclutch:approve'] },
      now: () => now,
    });
    const token = await sign({ ...USER, scope: 'openid' }, { exp: NOW_SEC + 20 });
    await expect(clocked.verify(token)).resolves.toMatchObject({ kind: 'user' });
    await expect(clocked.verify(token, { action: 'approve' })).rejects.toMatchObject({
      code: 'SCOPE_MISSING',
    });
    now += 90_000;
    await expect(clocked.verify(token)).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });
  });

  it('accepts a token expired by less than the allowed clock skew', async () => {
    await expect(
      verifier.verify(await sign(USER, { iat: NOW_SEC - 330, exp: NOW_SEC - 30 })),
    ).resolves.toMatchObject({ kind: 'user' });
  });

  it('refuses a token not valid before a time beyond the clock skew', async () => {
    const e = await refusal(await sign({ ...USER, nbf: NOW_SEC + 600 }));
    expect(e.code).toBe('TOKEN_NOT_YET_VALID');
    expect(e.message).toContain('10m in the future (allowed clock skew 60s)');
  });

  it('refuses a token issued in the future', async () => {
    const e = await refusal(await sign(USER, { iat: NOW_SEC + 3600, exp: NOW_SEC + 3900 }));
    expect(e.code).toBe('TOKEN_NOT_YET_VALID');
    expect(e.message).toContain('claims to be issued at');
  });

  it('refuses a token whose audience is another service, saying expected and received', async () => {
    const e = await refusal(await sign({ ...USER, aud: 'billing-api' }));
    expect(e.code).toBe('AUDIENCE_MISMATCH');
    expect(e.message).toContain('"billing-api"');
    expect(e.message).toContain('["airclutch"]');
    expect(e.details).toEqual({ expected: ['airclutch'], received: 'billing-api' });
  });

  it('refuses a token from an issuer that is not trusted', async () => {
    const e = await refusal(await sign({ ...USER, iss: 'https://evil.example.com' }));
    expect(e.code).toBe('ISSUER_UNTRUSTED');
    expect(e.message).toContain('"https://evil.example.com" is not trusted');
  });

  it('suggests the trusted issuer when only a trailing slash differs', async () => {
    const e = await refusal(await sign({ ...USER, iss: `${idp.issuer}/` }));
    expect(e.code).toBe('ISSUER_UNTRUSTED');
    expect(e.message).toContain('trailing slash');
  });

  it('refuses an unsigned alg "none" token', async () => {
    const e = await refusal(
      `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64({ ...USER, iss: idp.issuer, exp: NOW_SEC + 60 })}.`,
    );
    expect(e.code).toBe('ALGORITHM_REJECTED');
    expect(e.message).toContain('alg "none"');
  });

  it('refuses an HS256 token signed with the public key as the HMAC secret', async () => {
    const { createPublicKey } = await import('node:crypto');
    const pem = await exportSPKI(createPublicKey({ key: idp.current().publicJwk as never, format: 'jwk' }));
    const token = await new SignJWT({ ...USER, iss: idp.issuer })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1', typ: 'at+jwt' })
      .setIssuedAt(NOW_SEC)
      .setExpirationTime(NOW_SEC + 60)
      .sign(new TextEncoder().encode(pem));
    const e = await refusal(token);
    expect(e.code).toBe('ALGORITHM_REJECTED');
    expect(e.message).toContain('symmetric algorithm HS256');
  });

  it('refuses an asymmetric algorithm the issuer is not configured for', async () => {
    const e = await refusal(await sign(USER, { key: await newKey('ES256', 'k1') }));
    expect(e.code).toBe('ALGORITHM_REJECTED');
    expect(e.message).toContain('allowed: RS256');
  });

  for (const h of ['jku', 'x5u', 'jwk'] as const) {
    it(`refuses a token whose "${h}" header names its own key`, async () => {
      const value = h === 'jwk' ? idp.current().publicJwk : 'https://evil.example.com/keys';
      const e = await refusal(await sign(USER, { header: { [h]: value } }));
      expect(e.code).toBe('KEY_UNKNOWN');
      expect(e.message).toContain(`carries "${h}"`);
    });
  }

  it('refuses an oversized token before parsing it', async () => {
    const e = await refusal(await sign({ ...USER, padding: 'x'.repeat(20_000) }));
    expect(e.code).toBe('TOKEN_MALFORMED');
    expect(e.message).toMatch(/is \d+ bytes, above the 16384-byte limit/);
  });

  it.each([
    ['not a JWT at all', 'hello', 'three dot-separated parts'],
    ['two parts', 'a.b', 'three dot-separated parts'],
    ['a JWE-shaped token', 'a.b.c.d.e', 'three dot-separated parts'],
    [
      'a header that is not JSON',
      `${Buffer.from('{oops').toString('base64url')}.e30.sig`,
      'header is not base64url-encoded JSON',
    ],
    [
      'a payload that is an array',
      `${b64({ alg: 'RS256' })}.${b64([1])}.sig`,
      'payload is not a JSON object',
    ],
    ['an empty string', '', 'token is empty'],
  ])('refuses a malformed token: %s', async (_name, token, message) => {
    const e = await refusal(token);
    expect(e.code).toBe('TOKEN_MALFORMED');
    expect(e.message).toContain(message);
  });

  it('refuses an ID token where an access token (typ at+jwt) is required', async () => {
    const e = await refusal(await sign(USER, { header: { typ: 'JWT' } }));
    expect(e.code).toBe('TOKEN_MALFORMED');
    expect(e.message).toContain('"at+jwt"');
  });

  it('refuses a token without the scope an action needs, saying needed and granted', async () => {
    const e = await refusal(await sign(USER), { action: 'approve' });
    expect(e.code).toBe('SCOPE_MISSING');
    expect(e.message).toContain('lacks scope airclutch:approve needed to approve');
    expect(e.message).toContain('granted [openid airclutch:trigger]');
  });
});
