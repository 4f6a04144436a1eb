/** Break-glass can be shown in dev: a dev token minted with `--mfa` says a second factor was used. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevIdp, startDevIdp } from '../../src/identity/dev-idp.ts';
import { identityConfigSchema } from '../../src/identity/identity-config.ts';
import { OidcTokenVerifier } from '../../src/identity/oidc-token-verifier.ts';

let dir: string;
let idp: DevIdp;
let verifier: OidcTokenVerifier;

describe('dev tokens with --mfa', { timeout: 60_000 }, () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'airclutch-mfa-'));
    idp = await startDevIdp({ port: 0, dataDir: dir, quiet: true });
    verifier = OidcTokenVerifier.fromConfig(
      identityConfigSchema.parse({ devIdp: { port: Number(new URL(idp.issuer).port) } }),
    );
  });
  afterAll(async () => {
    await idp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('carry amr with mfa, which the verifier reads as a second factor', async () => {
    const p = await verifier.verify(await idp.mintToken('lead@example.com', { mfa: true }));
    expect(p.id).toBe('lead@example.com');
    expect(p.token?.amr).toEqual(['pwd', 'mfa']);
  });

  it('carry no second factor unless asked', async () => {
    const p = await verifier.verify(await idp.mintToken('lead@example.com'));
    expect(p.token?.amr).toEqual([]);
  });
});
