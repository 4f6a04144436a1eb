/** Starts the dev IdP as the config describes it: port, demo people, audience, token lifetime. @module */
import type { AirclutchConfig } from '../config/config-schema.ts';
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
