/** `airclutch whoami`: the principal, groups, issuer and expiry of the stored (refreshed) token. @module */
import { Command } from 'commander';
import { freshAccessToken } from '../../identity/cli-login.ts';
import { CliTokenStore } from '../../identity/cli-token-store.ts';
import { OidcTokenVerifier } from '../../identity/oidc-token-verifier.ts';
import { principalRef } from '../../identity/principal.ts';
import { configFor, printTable } from '../cli-context.ts';

export function whoamiCommand(): Command {
  return new Command('whoami')
    .description('Show who the stored token says you are')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { identity } = await configFor(cmd);
      const tokens = await freshAccessToken(new CliTokenStore(), identity.cli.refreshBeforeSec);
      const p = await OidcTokenVerifier.fromConfig(identity).verify(tokens.accessToken);
      const expires = p.token?.expiresAt ? new Date(p.token.expiresAt * 1000).toISOString() : '';
      printTable(
        [{ principal: principalRef(p), groups: p.groups.join(', '), issuer: p.issuer, expires }],
        opts.json,
      );
    });
}
