/** `airclutch worker`: a fleet worker claiming tasks from the shared PostgreSQL store. @module */
import { createServer } from 'node:http';
import { Command } from 'commander';
import { createLogger } from '../../app/create-logger.ts';
import { startWorker } from '../../app/start-worker.ts';
import { configFor } from '../cli-context.ts';

export function workerCommand(): Command {
  return new Command('worker')
    .description('Run a fleet worker: claim and run ready tasks from the shared PostgreSQL store')
    .option('--concurrency <n>', 'attempts run at once (overrides engine.concurrency)')
    .option('--queues <names>', 'comma-separated queues to claim from (default: default)')
    .option('--metrics-port <port>', 'serve Prometheus /metrics on this port (127.0.0.1)')
    .action(async (opts: { concurrency?: string; queues?: string; metricsPort?: string }, cmd: Command) => {
      const config = await configFor(cmd);
      const log = createLogger();
      const app = await startWorker(config, {
        log,
        ...(opts.concurrency ? { concurrency: Number(opts.concurrency) } : {}),
        ...(opts.queues
          ? {
              queues: opts.queues
                .split(',')
                .map((q) => q.trim())
                .filter(Boolean),
            }
          : {}),
      });
      const metrics = opts.metricsPort
        ? createServer((req, res) => {
            if (req.url !== '/metrics') {
              res.writeHead(404).end();
              return;
            }
            app.metrics.metrics().then(
              (text) => res.writeHead(200, { 'content-type': app.metrics.contentType }).end(text),
              () => res.writeHead(500).end(),
            );
          }).listen(Number(opts.metricsPort), '127.0.0.1')
        : undefined;
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          log.info(`${signal}: draining (no new claims; running attempts finish or are handed back)`);
          metrics?.close();
          app
            .stop()
            .catch((e) => log.error({ err: e }, 'drain failed'))
            .finally(resolve);
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
      log.flush();
    });
}
