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

/**
 * Runs `fn` (which talks to the dev IdP on its configured port) against the IdP running there, or,
 * when none answers, against one started on the same port and keys for the length of `fn`. CLI
 * commands started together share whichever of them got the port first.
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
      if (!isAirclutchError(e) || e.code !== 'IDP_UNREACHABLE') throw e;
    }
    let idp: DevIdp;
    try {
      idp = await startConfiguredDevIdp(config, { quiet: true });
    } catch (e) {
      // Another command took the port a moment ago: its IdP answers for this one too.
      if (attempt < 5 && isAirclutchError(e) && e.details?.portTaken !== undefined) {
        await sleep(25 * attempt);
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
