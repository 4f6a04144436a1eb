/** `airclutch server`: Airclutch with its HTTP API, for production (no reloading, JSON logs). @module */
import { Command } from 'commander';
import { createLogger } from '../../app/create-logger.ts';
import { startAirclutch } from '../../app/start-airclutch.ts';
import { startHttp } from '../../http/start-http.ts';
import { configFor } from '../cli-context.ts';

export function serverCommand(): Command {
  return new Command('server')
    .description(
      'Run Airclutch with its HTTP API on server.host:server.port (AIRCLUTCH_HOST, AIRCLUTCH_PORT)',
    )
    .option('--port <port>', 'port to listen on (overrides server.port)')
    .option('--host <host>', 'address to listen on (overrides server.host)')
    .option(
      '--no-worker',
      'run no tasks here: API, UI, gate and scheduler only, beside `airclutch worker`s (PostgreSQL)',
    )
    .option('--no-scheduler', 'do not run the scheduler here (run `airclutch scheduler` instead)')
    .action(
      async (opts: { port?: string; host?: string; worker?: boolean; scheduler?: boolean }, cmd: Command) => {
        const loaded = await configFor(cmd);
        const config = {
          ...loaded,
          server: {
            ...loaded.server,
            ...(opts.port ? { port: Number(opts.port) } : {}),
            ...(opts.host ? { host: opts.host } : {}),
          },
        };
        const log = createLogger();
        const app = await startAirclutch(config, {
          log,
          worker: opts.worker !== false,
          scheduler: opts.scheduler !== false,
        });
        const http = await startHttp(app, log).catch(async (e) => {
          await app.stop();
          throw e;
        });
        await new Promise<void>((resolve) => {
          const stop = (signal: string) => {
            log.info(`${signal}: closing the HTTP API, then letting running tasks finish`);
            http
              .close()
              .then(() => app.stop())
              .catch((e) => log.error({ err: e }, 'shutdown failed'))
              .finally(resolve);
          };
          process.once('SIGINT', () => stop('SIGINT'));
          process.once('SIGTERM', () => stop('SIGTERM'));
        });
        log.flush();
      },
    );
}
