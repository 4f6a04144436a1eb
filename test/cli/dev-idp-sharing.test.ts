import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.ts';
import { startConfiguredDevIdp } from '../../src/identity/start-configured-dev-idp.ts';
import { DAGS } from '../helpers/gate-world.ts';
import { type CliWorld, cliWorld } from './cli-world.ts';

let world: CliWorld | undefined;
afterEach(() => world?.close());

describe('CLI commands started together with no dev IdP running', { timeout: 120_000 }, () => {
  it('all verify their callers: one starts the dev IdP, the others share it or start their own after it closes', async () => {
    // No IdP and no keys yet: the commands race for the port and for creating the signing keys.
    world = await cliWorld(DAGS, { idp: false });
    // The store exists first: this is about the IdP (concurrent first migrations are another matter).
    expect((await world.cli(['db', 'migrate'])).code).toBe(0);
    const people = ['eng@example.com', 'lead@example.com', 'lead2@example.com', 'admin@example.com'];
    const results = await Promise.all(
      [...people, 'eng@example.com', 'lead@example.com'].map((as) =>
        world!.cli(['runs', 'list', '--json'], { as }),
      ),
    );
    for (const r of results) {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual([]);
    }
    expect(existsSync(join(world.dir, 'data/dev-idp/keys.json'))).toBe(true);
    // Every command closed the IdP it started: the port is free again.
    const idp = await startConfiguredDevIdp(await loadConfig({ path: world.configPath }), { quiet: true });
    await idp.close();
  });
});
