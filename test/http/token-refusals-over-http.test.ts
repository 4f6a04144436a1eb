/**
 * Token refusals through a real listening server: oversized tokens, unmapped tokens, clients behind
 * a proxy and a key rotation, each answered by Airclutch (problem+json), audited and counted.
 */
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../src/http/create-server.ts';
import { type ServerConfig, serverConfigSchema } from '../../src/http/server-config.ts';
import { startHttp } from '../../src/http/start-http.ts';
import { identityConfigSchema, trustedIssuerSchema } from '../../src/identity/identity-config.ts';
import { OidcTokenVerifier } from '../../src/identity/oidc-token-verifier.ts';
import { createWorld, type World } from '../helpers/gate-world.ts';
import { type JwksServer, startJwksServer } from '../identity/helpers/jwks-server.ts';

const MAX_TOKEN_BYTES = 16_384;
const ENG = { sub: 'u-1', email: 'eng@example.com', groups: ['data-eng'], aud: 'airclutch' };

let world: World;
let idp: JwksServer;
let app: FastifyInstance | undefined;
let base = '';
let seqBefore = 0;

beforeAll(async () => {
  world = await createWorld('sqlite');
  idp = await startJwksServer('RS256');
});
afterEach(async () => {
  await app?.close();
  app = undefined;
});
afterAll(async () => {
  await idp.close();
  await world.dispose();
});

async function serve(server: Partial<ServerConfig> = {}): Promise<void> {
  await markAudit();
  const verifier = new OidcTokenVerifier({
    issuers: [
      trustedIssuerSchema.parse({
        issuer: idp.issuer,
        audiences: ['airclutch'],
        algorithms: ['RS256'],
        // Long enough that a key rotated in during the test is always inside the cooldown.
        jwksCooldownSec: 3_600,
      }),
    ],
    maxTokenBytes: MAX_TOKEN_BYTES,
  });
  app = await createServer(world, {
    verifier,
    server: serverConfigSchema.parse({
      ...server,
      rateLimit: { max: 10_000, windowMs: 60_000, tokenFailuresMax: 3, ...server.rateLimit },
    }),
    maxTokenBytes: MAX_TOKEN_BYTES,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
}

async function get(token: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}/api/v1/dags`, {
    headers: { authorization: `Bearer ${token}`, ...headers },
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: JSON.parse(text) as any };
}

/** Records before this point belong to earlier tests. */
async function markAudit(): Promise<void> {
  const last = await world.db.kysely
    .selectFrom('audit_records')
    .select((eb) => eb.fn.max('seq').as('seq'))
    .executeTakeFirst();
  seqBefore = Number(last?.seq ?? 0);
}

/** Closes the server (flushing the aggregated token failures) and reads the token.rejected records. */
async function rejectedRecords() {
  await app?.close();
  app = undefined;
  const rows = await world.db.kysely
    .selectFrom('audit_records')
    .select(['outcome', 'details'])
    .where('action', '=', 'token.rejected')
    .where('seq', '>', seqBefore)
    .orderBy('seq')
    .execute();
  return rows.map((r) => ({
    outcome: r.outcome,
    ...(JSON.parse(r.details!) as { count: number; ip?: string }),
  }));
}

/** A signed token of about `size` bytes (never more), grown by an IdP-style `groups` claim. */
async function tokenOfSize(size: number): Promise<string> {
  const groupsFor = (n: number) =>
    Array.from({ length: n }, (_, i) => `sg-${String(i).padStart(5, '0')}-finance-readers`);
  let n = 1;
  let token = await idp.sign({ ...ENG, groups: ['data-eng', ...groupsFor(n)] });
  // Each group adds about 40 base64url characters; converge from below.
  for (let i = 0; i < 8 && token.length < size - 60; i++) {
    n += Math.max(1, Math.floor((size - token.length - 30) / 42));
    const next = await idp.sign({ ...ENG, groups: ['data-eng', ...groupsFor(n)] });
    if (next.length > size) {
      n -= Math.max(1, Math.floor((next.length - size) / 38));
      token = await idp.sign({ ...ENG, groups: ['data-eng', ...groupsFor(n)] });
      break;
    }
    token = next;
  }
  if (token.length > size) throw new Error(`token ${token.length} > ${size}`);
  return token;
}

describe('token size against the HTTP header limit', () => {
  it('accepts a valid token whose large groups claim brings it just under identity.maxTokenBytes', async () => {
    await serve();
    const token = await tokenOfSize(MAX_TOKEN_BYTES);
    expect(token.length).toBeGreaterThan(MAX_TOKEN_BYTES - 200);
    const res = await get(token);
    expect(res.status).toBe(200);
  });

  it('answers a token over the limit with 401 TOKEN_MALFORMED, audits it and counts it toward the lockout', async () => {
    await serve();
    const big = await tokenOfSize(MAX_TOKEN_BYTES + 4_000);
    expect(big.length).toBeGreaterThan(MAX_TOKEN_BYTES);
    for (let i = 0; i < 3; i++) {
      const res = await get(big);
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.json.code).toBe('TOKEN_MALFORMED');
      expect(res.json.detail).toContain(`above the ${MAX_TOKEN_BYTES}-byte limit (identity.maxTokenBytes)`);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="airclutch", error="invalid_token"/);
    }
    const locked = await get(await idp.sign(ENG));
    expect(locked.status).toBe(429);
    expect(locked.json.code).toBe('RATE_LIMITED');
    expect(await rejectedRecords()).toEqual([
      expect.objectContaining({ outcome: 'TOKEN_MALFORMED', count: 3, ip: '127.0.0.1' }),
    ]);
  });
});

describe('tokens that map to no principal', () => {
  it('answers 401 PRINCIPAL_UNMAPPED with an RFC 6750 challenge, audited and counted', async () => {
    await serve();
    const unverified = await idp.sign({ ...ENG, sub: '', email_verified: false });
    const res = await get(unverified);
    expect(res.status).toBe(401);
    expect(res.json.code).toBe('PRINCIPAL_UNMAPPED');
    expect(res.json.detail).toContain('matches no principal rule: people need a verified email claim');
    expect(res.headers.get('www-authenticate')).toMatch(
      /^Bearer realm="airclutch", error="invalid_token", error_description="token from http:\/\/127\.0\.0\.1:\d+ \(sub ''\) matches no principal rule/,
    );
    await get(unverified);
    await get(unverified);
    expect((await get(await idp.sign(ENG))).status).toBe(429);
    expect(await rejectedRecords()).toEqual([
      expect.objectContaining({ outcome: 'PRINCIPAL_UNMAPPED', count: 3, ip: '127.0.0.1' }),
    ]);
  });

  it('says which scope is missing in the challenge of a 403', async () => {
    // Not a token failure: the token is fine, it lacks a scope. No lockout.
    const verifier = new OidcTokenVerifier({
      issuers: [trustedIssuerSchema.parse({ issuer: idp.issuer, audiences: ['airclutch'] })],
      requiredScopes: { view: ['airclutch:view'] },
    });
    await markAudit();
    app = await createServer(world, { verifier, server: serverConfigSchema.parse({}) });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const res = await get(await idp.sign({ ...ENG, scope: 'openid' }));
    expect(res.status).toBe(403);
    expect(res.json.code).toBe('SCOPE_MISSING');
    expect(res.headers.get('www-authenticate')).toBe(
      'Bearer realm="airclutch", error="insufficient_scope", scope="airclutch:view"',
    );
  });
});

describe('behind a load balancer (server.trustProxy)', () => {
  it('locks out only the client that sent bad tokens when the proxy is trusted', async () => {
    await serve({ trustProxy: '127.0.0.1' });
    const bad = `${(await idp.sign(ENG)).slice(0, -4)}AAAA`;
    for (let i = 0; i < 3; i++) {
      expect((await get(bad, { 'x-forwarded-for': '203.0.113.7' })).json.code).toBe('SIGNATURE_INVALID');
    }
    const good = await idp.sign(ENG);
    const attacker = await get(good, { 'x-forwarded-for': '203.0.113.7' });
    expect(attacker.status).toBe(429);
    expect(attacker.json.code).toBe('RATE_LIMITED');
    expect((await get(good, { 'x-forwarded-for': '198.51.100.2' })).status).toBe(200);
    expect(await rejectedRecords()).toEqual([
      expect.objectContaining({ outcome: 'SIGNATURE_INVALID', count: 3, ip: '203.0.113.7' }),
    ]);
  });

  it('ignores X-Forwarded-For by default, so a client cannot pick its own address', async () => {
    await serve();
    const bad = `${(await idp.sign(ENG)).slice(0, -4)}AAAA`;
    for (let i = 0; i < 3; i++) await get(bad, { 'x-forwarded-for': `203.0.113.${i + 10}` });
    const res = await get(await idp.sign(ENG), { 'x-forwarded-for': '198.51.100.2' });
    expect(res.status).toBe(429);
    expect(await rejectedRecords()).toEqual([
      expect.objectContaining({ outcome: 'SIGNATURE_INVALID', count: 3, ip: '127.0.0.1' }),
    ]);
  });

  it('does not lock out an address for tokens signed with a key rotated in during the JWKS cooldown', async () => {
    await serve();
    expect((await get(await idp.sign(ENG))).status).toBe(200); // the JWKS is fetched now
    const fetches = idp.jwksRequests();
    const old = idp.current();
    const rotated = await idp.rotate();
    const fresh = await idp.sign(ENG, { key: rotated });
    for (let i = 0; i < 6; i++) {
      const res = await get(fresh);
      expect(res.status).toBe(401);
      expect(res.json.code).toBe('KEY_UNKNOWN');
      expect(res.json.detail).toContain('a key the IdP just rotated in is picked up within 3600s');
    }
    expect(idp.jwksRequests()).toBe(fetches);
    expect((await get(await idp.sign(ENG, { key: old }))).status).toBe(200);
    expect(await rejectedRecords()).toEqual([
      expect.objectContaining({ outcome: 'KEY_UNKNOWN', count: 6, ip: '127.0.0.1' }),
    ]);
    idp.retireOld();
  });
});

describe('production mode against a local issuer (identity.allowInsecureIssuers)', () => {
  it('runs the production path with a local http issuer and logs a loud INSECURE warning at start', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const identity = identityConfigSchema.parse({
      mode: 'production',
      allowInsecureIssuers: true,
      issuers: [{ issuer: idp.issuer, audiences: ['airclutch'] }],
    });
    const http = await startHttp(
      { ...world, config: { ...world.config, identity, server: { ...world.config.server, port: 0 } } },
      log,
    );
    try {
      const res = await fetch(`${http.url}/api/v1/dags`, {
        headers: { authorization: `Bearer ${await idp.sign(ENG)}` },
      });
      expect(res.status).toBe(200);
    } finally {
      await http.close();
    }
    const warnings = lines.map((l) => JSON.parse(l)).filter((l) => l.level === 40);
    expect(warnings.map((w) => w.msg)).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^INSECURE: identity.allowInsecureIssuers is on in production mode; trusting http issuers ${idp.issuer}`,
        ),
      ),
    );
  });
});
