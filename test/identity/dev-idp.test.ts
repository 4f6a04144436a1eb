import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevIdp, startDevIdp } from '../../src/identity/dev-idp.ts';
import { identityConfigSchema } from '../../src/identity/identity-config.ts';
import { OidcTokenVerifier } from '../../src/identity/oidc-token-verifier.ts';

let dir: string;
let idp: DevIdp;
let verifier: OidcTokenVerifier;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'airclutch-devidp-'));
  idp = await startDevIdp({ port: 0, dataDir: dir });
  const port = Number(new URL(idp.issuer).port);
  verifier = OidcTokenVerifier.fromConfig(
    identityConfigSchema.parse({ devIdp: { port }, requiredScopes: { trigger: ['airclutch:trigger'] } }),
  );
});
afterAll(async () => {
  await idp.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('embedded dev IdP', () => {
  it('mints a demo person token that the normal verifier accepts through discovery', async () => {
    const p = await verifier.verify(await idp.mintToken('lead@example.com'), { action: 'trigger' });
    expect(p).toMatchObject({
      kind: 'user',
      id: 'lead@example.com',
      groups: ['data-leads'],
      issuer: idp.issuer,
      token: { clientId: 'airclutch-dev' },
    });
    expect(p.token?.scopes).toContain('airclutch:trigger');
  });

  it('issues client-credentials tokens to ci-bot that map to Service::"ci-bot"', async () => {
    const p = await verifier.verify(await idp.serviceToken());
    expect(p).toMatchObject({ kind: 'service', id: 'ci-bot', groups: [] });
  });

  it('refuses to mint a token for someone who is not a demo user', async () => {
    await expect(idp.mintToken('mallory@example.com')).rejects.toMatchObject({
      code: 'LOGIN_FAILED',
      message: expect.stringContaining('no demo user mallory@example.com'),
    });
  });

  it('keeps its signing keys under <dataDir>/dev-idp with mode 0600, so tokens outlive a restart', async () => {
    const token = await idp.mintToken('eng@example.com');
    expect(statSync(join(dir, 'dev-idp', 'keys.json')).mode & 0o777).toBe(0o600);
    const port = Number(new URL(idp.issuer).port);
    await idp.close();
    idp = await startDevIdp({ port, dataDir: dir });
    const fresh = OidcTokenVerifier.fromConfig(identityConfigSchema.parse({ devIdp: { port } }));
    await expect(fresh.verify(token)).resolves.toMatchObject({ id: 'eng@example.com', groups: ['data-eng'] });
  });

  it('refuses to start outside dev mode', async () => {
    await expect(startDevIdp({ port: 0, dataDir: dir, mode: 'production' })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('only runs in dev mode'),
    });
  });

  it('refuses a production config that trusts the dev IdP issuer', () => {
    const r = identityConfigSchema.safeParse({
      mode: 'production',
      issuers: [{ issuer: 'http://127.0.0.1:4455', audiences: ['airclutch'] }],
    });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toContain('production mode refuses to trust http://127.0.0.1:4455');
  });
});
