/** `airclutch dev-idp start|token`: the embedded dev IdP and demo tokens, dev mode only. @module */

import { Command } from 'commander';
import { devToken } from '../../identity/dev-token.ts';
import { startConfiguredDevIdp } from '../../identity/start-configured-dev-idp.ts';
import { configFor } from '../cli-context.ts';

/** `token --as USER`: also mountable under `airclutch dev` as `dev token`. */
export function devTokenCommand(): Command {
  return new Command('token')
    .description('Print a signed access token for a demo person (or --as ci-bot for the service client)')
    .requiredOption(
      '--as <user>',
      'demo email, e.g. eng@example.com, lead@example.com, admin@example.com, or ci-bot',
    )
    .option('--scope <scopes>', 'space-separated scopes, e.g. "airclutch:trigger"')
    .option('--mfa', 'the token says a second factor was used (amr: pwd, mfa), e.g. for break-glass policies')
    .action(async (opts: { as: string; scope?: string; mfa?: boolean }, cmd: Command) => {
      const config = await configFor(cmd);
      const token = await devToken(config, opts.as, {
        ...(opts.scope ? { scope: opts.scope } : {}),
        ...(opts.mfa ? { mfa: true } : {}),
      });
      process.stdout.write(`${token}\n`);
    });
}

export function devIdpCommand(): Command {
  const group = new Command('dev-idp').description('The embedded dev IdP (dev mode only)');
  group
    .command('start')
    .description('Run the dev IdP on loopback until interrupted')
    .action(async (_opts, cmd: Command) => {
      const config = await configFor(cmd);
      const { devIdp } = config.identity;
      const idp = await startConfiguredDevIdp(config);
      process.stdout.write(
        `dev IdP at ${idp.issuer}\ndemo people: ${devIdp.users.map((u) => `${u.email} (${u.groups.join(', ')})`).join('; ')}\nservice client: ci-bot\n`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await idp.close();
    });
  group.addCommand(devTokenCommand());
  return group;
}
