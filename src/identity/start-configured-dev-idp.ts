/** Starts the dev IdP as the config describes it: port, demo people, audience, token lifetime. @module */
import { setTimeout as sleep } from 'node:timers/promises';
import type { AirclutchConfig } from '../config/config-schema.ts';
import { isAirclutchError } from '../lib/errors.ts';
import { type DevIdp, startDevIdp } from './dev-idp.ts';

/** `quiet` for an IdP that only lives as long as one CLI command (see `StartDevIdpOptions.quiet`). */
export function startConfiguredDevIdp(
  config: Pick<AirclutchConfig, 'identity' | 'dataDir'>,
  options: { quiet?: boolean } = {},
): Promise<DevIdp> {
  const { devIdp, mode } = config.identity;
  return startDevIdp({
    port: devIdp.port,
    dataDir: config.dataDir,
    mode,
    users: devIdp.users,
    audience: devIdp.audience,
    accessTokenTtlSec: devIdp.accessTokenTtlSec,
    quiet: options.quiet === true,
  });
}

/** How often a command retries after losing the port to, or being left by, another command's IdP. */
const SHARE_ATTEMPTS = 20;

/**
 * Runs `fn` (which talks to the dev IdP on its configured port) against the IdP running there, or,
 * when none answers, against one started on the same port and keys for the length of `fn`. CLI
 * commands started together share whichever of them got the port first. Sharing is race-free: a
 * request to an IdP still starting waits for it, every IdP on the port signs with the same persisted
 * keys, and a command whose borrowed IdP closes under it (its owner finished) tries again, starting
 * its own when the port is free. Only an IdP this command owns is sure to outlive `fn`.
 *
 * @example
 * const principal = await withDevIdp(config, () => verifier.verify(await devToken(config, 'eng@example.com')));
 */
export async function withDevIdp<T>(
  config: Pick<AirclutchConfig, 'identity' | 'dataDir'>,
  fn: () => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isAirclutchError(e) || e.code !== 'IDP_UNREACHABLE' || attempt >= SHARE_ATTEMPTS) throw e;
    }
    let idp: DevIdp;
    try {
      idp = await startConfiguredDevIdp(config, { quiet: true });
    } catch (e) {
      // Another command took the port a moment ago: its IdP answers for this one too.
      if (attempt < SHARE_ATTEMPTS && isAirclutchError(e) && e.details?.portTaken !== undefined) {
        await sleep(10 * attempt + Math.floor(Math.random() * 20));
        continue;
      }
      throw e;
    }
    try {
      return await fn();
    } finally {
      await idp.close();
    }
  }
}
