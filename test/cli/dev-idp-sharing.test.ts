import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.ts';
import { OidcTokenVerifier } from '../../src/identity/oidc-token-verifier.ts';
import { startConfiguredDevIdp } from '../../src/identity/start-configured-dev-idp.ts';
import { DAGS } from '../helpers/gate-world.ts';
import { type CliWorld, cliWorld } from './cli-world.ts';

let world: CliWorld | undefined;
afterEach(() => world?.close());

describe('CLI commands started together with no dev IdP running', { timeout: 120_000 }, () => {
  it('all mint their dev tokens: one starts the dev IdP, the others share it or start their own after it closes', async () => {
    // No IdP and no keys yet: the commands race for the port and for creating the signing keys.
    world = await cliWorld(DAGS, { idp: false, server: false });
    // The store exists first: this is about the IdP (concurrent first migrations are another matter).
    expect((await world.cli(['db', 'migrate'])).code).toBe(0);
    const people = ['eng@example.com', 'lead@example.com', 'lead2@example.com', 'admin@example.com'];
    const callers = [...people, 'eng@example.com', 'lead@example.com'];
    const results = await Promise.all(callers.map((as) => world!.cli(['dev', 'token'], { as })));
    for (const r of results) {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
    expect(existsSync(join(world.dir, 'data/dev-idp/keys.json'))).toBe(true);
    // Every command closed the IdP it started: the port is free again; and every token verifies
    // against the IdP on the same keys.
    const config = await loadConfig({ path: world.configPath });
    const idp = await startConfiguredDevIdp(config, { quiet: true });
    try {
      const verifier = OidcTokenVerifier.fromConfig(config.identity);
      const who = await Promise.all(results.map((r) => verifier.verify(r.stdout.trim())));
      expect(who.map((p) => p.id)).toEqual(callers);
    } finally {
      await idp.close();
    }
  });
});
