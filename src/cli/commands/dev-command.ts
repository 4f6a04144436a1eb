/** `airclutch dev`: the whole of Airclutch in one process, with the DAG folders reloading on change. @module */
import { Command } from 'commander';
import { createLogger } from '../../app/create-logger.ts';
import { startAirclutch } from '../../app/start-airclutch.ts';
import { startHttp } from '../../http/start-http.ts';
import { configFor } from '../cli-context.ts';

export function devCommand(): Command {
  return new Command('dev')
    .description(
      'Run Airclutch in dev mode: embedded store, scheduler and executor, DAGs reloading on change',
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const config = await configFor(cmd);
      const log = createLogger({ dev: true });
      const app = await startAirclutch(config, { dev: true, log });
      const http = await startHttp(app, log);
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (signal: string) => {
          if (stopping) return;
          stopping = true;
          log.info(`${signal}: letting running tasks finish (up to ${config.engine.shutdownGraceMs} ms)`);
          http
            .close()
            .then(() => app.stop())
            .then(resolve, (e) => {
              log.error({ err: e }, 'shutdown failed');
              resolve();
            });
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
      log.flush();
    });
}
