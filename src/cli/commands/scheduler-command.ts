/** `airclutch scheduler`: only the scheduler, against the shared store (docs/scale-out.md). @module */
import { Command } from 'commander';
import { createLogger } from '../../app/create-logger.ts';
import { startScheduler } from '../../app/start-scheduler.ts';
import { configFor } from '../cli-context.ts';

export function schedulerCommand(): Command {
  return new Command('scheduler')
    .description(
      'Run only the scheduler: cron ticks become runs through the gate; several may run on one PostgreSQL',
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const config = await configFor(cmd);
      const log = createLogger();
      const app = await startScheduler(config, { log });
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          log.info(`${signal}: finishing the scheduler pass in flight`);
          app
            .stop()
            .catch((e) => log.error({ err: e }, 'shutdown failed'))
            .finally(resolve);
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
      log.flush();
    });
}
