/** `airclutch dev`: the whole of Airclutch in one process, with its dev IdP, DAGs and policies reloading on change. @module */

import { Command } from 'commander';
import { createLogger } from '../../app/create-logger.ts';
import { startAirclutch } from '../../app/start-airclutch.ts';
import { startHttp } from '../../http/start-http.ts';
import type { DevIdp } from '../../identity/dev-idp.ts';
import { startConfiguredDevIdp } from '../../identity/start-configured-dev-idp.ts';
import { configFor } from '../cli-context.ts';
import { devTokenCommand } from './dev-idp-command.ts';

export function devCommand(): Command {
  const dev = new Command('dev')
    .description(
      'Run Airclutch in dev mode: dev IdP, embedded store, scheduler and executor, DAGs reloading on change',
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const config = await configFor(cmd);
      const log = createLogger({ dev: true });
      const { devIdp } = config.identity;
      let idp: DevIdp | undefined;
      if (config.identity.mode === 'dev' && devIdp.enabled) {
        idp = await startConfiguredDevIdp(config);
        log.info(
          `dev IdP at ${idp.issuer}: ${devIdp.users.map((u) => `${u.email} (${u.groups.join(', ')})`).join('; ')}; service client ci-bot. ` +
            'Get a token with `airclutch dev token --as eng@example.com`, or pass --as to trigger.',
        );
      }
      const app = await startAirclutch(config, { dev: true, log });
      const http = await startHttp(app, log).catch(async (e) => {
        await Promise.all([app.stop(), idp?.close()]);
        throw e;
      });
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (signal: string) => {
          if (stopping) return;
          stopping = true;
          log.info(`${signal}: letting running tasks finish (up to ${config.engine.shutdownGraceMs} ms)`);
          http
            .close()
            .then(() => Promise.all([app.stop(), idp?.close()]))
            .then(
              () => resolve(),
              (e) => {
                log.error({ err: e }, 'shutdown failed');
                resolve();
              },
            );
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
      log.flush();
    });
  dev.addCommand(devTokenCommand());
  return dev;
}
