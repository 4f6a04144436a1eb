import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestPrincipal } from '../../src/http/request-principal.ts';
import { type DevIdp, startDevIdp } from '../../src/identity/dev-idp.ts';
import { identityConfigSchema } from '../../src/identity/identity-config.ts';
import { OidcTokenVerifier } from '../../src/identity/oidc-token-verifier.ts';
import { isAirclutchError } from '../../src/lib/errors.ts';

let dir: string;
let idp: DevIdp;
let app: FastifyInstance;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'airclutch-bearer-'));
  idp = await startDevIdp({ port: 0, dataDir: dir, quiet: true });
  const verifier = OidcTokenVerifier.fromConfig(
    identityConfigSchema.parse({
      devIdp: { port: Number(new URL(idp.issuer).port) },
      requiredScopes: { trigger: ['airclutch:trigger'] },
    }),
  );
  app = Fastify();
  app.setErrorHandler((e, _req, reply) => {
    if (isAirclutchError(e)) return reply.code(e.status).send(e.toProblem());
    return reply.code(500).send({ detail: String(e) });
  });
  app.post('/runs', async (req) => requestPrincipal(req, verifier, 'trigger'));
});
afterAll(async () => {
  await app.close();
  await idp.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('requestPrincipal', () => {
  it('turns a bearer token into its principal, checking the action scopes', async () => {
    const token = await idp.mintToken('eng@example.com');
    const res = await app.inject({
      method: 'POST',
      url: '/runs',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.json()).toMatchObject({ kind: 'user', id: 'eng@example.com', groups: ['data-eng'] });
  });

  it('refuses a token without the trigger scope with SCOPE_MISSING', async () => {
    const token = await idp.mintToken('eng@example.com', { scope: 'airclutch:view' });
    const res = await app.inject({
      method: 'POST',
      url: '/runs',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({
      code: 'SCOPE_MISSING',
      detail: expect.stringContaining('granted [airclutch:view]'),
    });
  });

  it('answers 401 TOKEN_MISSING when nothing identifies the caller', async () => {
    const res = await app.inject({ method: 'POST', url: '/runs' });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: 'TOKEN_MISSING', detail: expect.stringContaining('Bearer') });
  });
});
