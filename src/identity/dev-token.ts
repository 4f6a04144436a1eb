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
  options: {
    scope?: string;
    /** The token's `amr` names a second factor (to try break-glass policies in dev). */
    mfa?: boolean;
    /** False when the caller already runs inside `withDevIdp` (then an unreachable IdP is its to handle). */
    startIdp?: boolean;
  } = {},
): Promise<string> {
  const { mode, devIdp } = config.identity;
  if (mode !== 'dev') {
    throw new AirclutchError(
      'CONFIG_INVALID',
      'dev tokens exist only in dev mode (identity.mode: dev); sign in with "airclutch login" instead',
    );
  }
  const issuer = devIdpIssuer(devIdp.port);
  const scope = options.scope === undefined ? {} : { scope: options.scope };
  const mint = () =>
    as === 'ci-bot'
      ? requestServiceToken(issuer, scope)
      : requestDevToken(issuer, as, { ...scope, ...(options.mfa ? { mfa: true } : {}) });
  return options.startIdp === false ? mint() : withDevIdp(config, mint);
}
