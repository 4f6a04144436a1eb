/** A demo person's token from the dev IdP: from the running one, or from one started for the moment on the same port and keys. @module */

import type { AirclutchConfig } from '../config/config-schema.ts';
import { AirclutchError } from '../lib/errors.ts';
import { requestDevToken, requestServiceToken } from './dev-token-client.ts';
import { devIdpIssuer } from './identity-config.ts';
import { withDevIdp } from './start-configured-dev-idp.ts';

/**
 * Mints a token for `as` (a demo email, or `ci-bot` for the service client). It verifies against the
 * dev IdP's discovery whenever that IdP runs, because the signing keys persist in `<dataDir>/dev-idp/`.
 *
 * @example
 * const token = await devToken(config, 'eng@example.com');
 */
export async function devToken(
  config: AirclutchConfig,
  as: string,
  options: { scope?: string } = {},
): Promise<string> {
  const { mode, devIdp } = config.identity;
  if (mode !== 'dev') {
    throw new AirclutchError(
      'CONFIG_INVALID',
      'dev tokens exist only in dev mode (identity.mode: dev); sign in with "airclutch login" instead',
    );
  }
  const issuer = devIdpIssuer(devIdp.port);
  const mint = (iss: string) =>
    as === 'ci-bot' ? requestServiceToken(iss, options) : requestDevToken(iss, as, options);
  return withDevIdp(config, () => mint(issuer));
}
