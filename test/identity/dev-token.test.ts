import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.ts';
import { startDevIdp } from '../../src/identity/dev-idp.ts';
import { devToken } from '../../src/identity/dev-token.ts';
import { OidcTokenVerifier } from '../../src/identity/oidc-token-verifier.ts';

let dir: string;
let port: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'airclutch-devtoken-'));
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('airclutch dev-idp token', () => {
  it('mints a token while the dev IdP is down that verifies once it runs, thanks to the persisted keys', async () => {
    const config = await loadConfig({
      cwd: dir,
      env: {},
      overrides: { dataDir: dir, identity: { devIdp: { port } } },
    });
    const token = await devToken(config, 'admin@example.com');
    const ci = await devToken(config, 'ci-bot');
    const idp = await startDevIdp({ port, dataDir: dir });
    try {
      const verifier = OidcTokenVerifier.fromConfig(config.identity);
      await expect(verifier.verify(token)).resolves.toMatchObject({
        kind: 'user',
        id: 'admin@example.com',
        groups: ['admins'],
      });
      await expect(verifier.verify(ci)).resolves.toMatchObject({ kind: 'service', id: 'ci-bot' });
      // And from the running IdP too.
      await expect(verifier.verify(await devToken(config, 'lead@example.com'))).resolves.toMatchObject({
        id: 'lead@example.com',
      });
    } finally {
      await idp.close();
    }
  });

  it('refuses outside dev mode', async () => {
    const config = await loadConfig({
      cwd: dir,
      env: { AIRCLUTCH_MODE: 'production' },
      overrides: { dataDir: dir },
    });
    await expect(devToken(config, 'eng@example.com')).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('only in dev mode'),
    });
  });
});
