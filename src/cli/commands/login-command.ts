/** `airclutch login`: sign in through the browser (code + PKCE, loopback redirect) and store the tokens 0600. @module */
import { Command } from 'commander';
import { loginWithDeviceCode } from '../../identity/cli-device-login.ts';
import { loginWithLoopback } from '../../identity/cli-login.ts';
import { CliTokenStore } from '../../identity/cli-token-store.ts';
import { cliIssuer } from '../../identity/identity-config.ts';
import { AirclutchError } from '../../lib/errors.ts';
import { configFor } from '../cli-context.ts';
import { saveProfile } from '../cli-profile.ts';

export function loginCommand(): Command {
  return new Command('login')
    .description(
      'Sign in through your IdP in the browser; tokens are kept under ~/.config/airclutch (mode 0600)',
    )
    .option(
      '--issuer <url>',
      'the IdP to sign in with (default: identity.cli.issuer, identity.session.issuer, or the dev IdP)',
    )
    .option('--device', 'use the device code flow (enter a code in a browser elsewhere)')
    .action(async (opts: { issuer?: string; device?: boolean }, cmd: Command) => {
      const { identity } = await configFor(cmd);
      // The server this login is for (global --server, or AIRCLUTCH_URL): later commands use it.
      const server = (cmd.optsWithGlobals() as { server?: string }).server ?? process.env.AIRCLUTCH_URL;
      if (server && !URL.canParse(server)) {
        throw new AirclutchError(
          'REQUEST_INVALID',
          `--server ${server} is not a URL: use e.g. https://airclutch.example.com`,
        );
      }
      const issuer = opts.issuer ?? cliIssuer(identity);
      if (!issuer)
        throw new AirclutchError(
          'CONFIG_INVALID',
          'no IdP to sign in with; set identity.cli.issuer or pass --issuer',
        );
      const client = {
        issuer,
        clientId: identity.cli.clientId,
        scopes: identity.cli.scopes,
        resource: identity.cli.resource,
      };
      const tokens = opts.device
        ? await loginWithDeviceCode({
            ...client,
            show: (p) => {
              process.stderr.write(`Open ${p.verificationUri} and enter the code ${p.userCode}\n`);
            },
          })
        : await loginWithLoopback({
            ...client,
            openBrowser: (url) => {
              process.stderr.write(`Open this URL to sign in:\n\n  ${url}\n\n`);
            },
          });
      const store = new CliTokenStore();
      store.save(tokens);
      if (server) saveProfile({ server: server.replace(/\/+$/, '') });
      process.stdout.write(
        `signed in at ${issuer}; token stored in ${store.file}${server ? `; commands will talk to ${server}` : ''}\n`,
      );
    });
}
