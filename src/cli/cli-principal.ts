/**
 * Who the CLI acts as: a verified principal from a token, never a name taken on trust. The token is
 * `--token`, `AIRCLUTCH_TOKEN`, a dev token minted for `--as` (dev mode only), or the one stored by
 * `airclutch login` (refreshed when close to expiry).
 * @module
 */
import type { AirclutchConfig } from '../config/config-schema.ts';
import { freshAccessToken } from '../identity/cli-login.ts';
import { CliTokenStore } from '../identity/cli-token-store.ts';
import { devToken } from '../identity/dev-token.ts';
import { OidcTokenVerifier } from '../identity/oidc-token-verifier.ts';
import type { Principal } from '../identity/principal.ts';
import { withDevIdp } from '../identity/start-configured-dev-idp.ts';
import { AirclutchError, isAirclutchError } from '../lib/errors.ts';

export interface IdentityFlags {
  token?: string | undefined;
  as?: string | undefined;
}

/** Verifies the caller's token for `action` (its required scopes apply) and returns the principal. */
export async function cliPrincipal(
  config: AirclutchConfig,
  flags: IdentityFlags,
  action: string,
): Promise<Principal> {
  const verify = async () =>
    OidcTokenVerifier.fromConfig(config.identity).verify(await tokenFor(config, flags), { action });
  // `--as` without `airclutch dev` running: a dev IdP on the same port and keys, for this command only.
  return flags.as ? withDevIdp(config, verify) : verify();
}

async function tokenFor(config: AirclutchConfig, flags: IdentityFlags): Promise<string> {
  const given = flags.token ?? process.env.AIRCLUTCH_TOKEN;
  if (given) return given;
  // cliPrincipal runs this inside withDevIdp, which starts the IdP if none answers.
  if (flags.as) return devToken(config, flags.as, { startIdp: false });
  try {
    return (await freshAccessToken(new CliTokenStore(), config.identity.cli.refreshBeforeSec)).accessToken;
  } catch (e) {
    if (isAirclutchError(e) && e.code === 'TOKEN_MISSING') {
      const hint = config.identity.mode === 'dev' ? ', or in dev mode pass --as eng@example.com' : '';
      throw new AirclutchError(
        'TOKEN_MISSING',
        `not signed in: run \`airclutch login\`, set AIRCLUTCH_TOKEN${hint}`,
      );
    }
    throw e;
  }
}

/** Adds `--token` and `--as` to a command. */
export function identityOptions<T extends { option(flags: string, description: string): T }>(cmd: T): T {
  return cmd
    .option('--token <jwt>', 'act with this access token (default: AIRCLUTCH_TOKEN, then `airclutch login`)')
    .option('--as <user>', 'dev mode: act as a demo person, e.g. eng@example.com (mints a dev token)');
}
