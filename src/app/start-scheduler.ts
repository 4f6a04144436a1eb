/**
 * Starts only the scheduler (`airclutch scheduler`): cron ticks become runs through the gate, as
 * `Service::"scheduler"`, against the shared store; servers and workers execute them. Several
 * schedulers may run at once: each tick's run is created once (a unique key per DAG and logical
 * date), the losers write nothing, and a scheduler that dies mid-pass leaves the cursor where the
 * next pass, its own or another's, picks up. See docs/scale-out.md, "Schedulers".
 * @module
 */
import type { AirclutchConfig } from '../config/config-schema.ts';
import { type Airclutch, createAirclutch } from './create-airclutch.ts';
import type { Logger } from './create-logger.ts';

export interface SchedulerApp extends Airclutch {
  /** Lets the pass in flight finish, then closes the store. */
  stop(): Promise<void>;
}

/**
 * @example
 * const app = await startScheduler(await loadConfig(), { log: createLogger() });
 * process.on('SIGTERM', () => app.stop());
 */
export async function startScheduler(
  config: AirclutchConfig,
  options: { log: Logger },
): Promise<SchedulerApp> {
  const { log } = options;
  const ac = await createAirclutch(config, {
    scheduler: { onError: (e) => log.error({ err: e }, 'scheduler pass failed; the next pass retries') },
  });
  if (ac.db.dialect === 'sqlite') {
    log.warn(
      `the store is SQLite (${ac.db.description}): run this scheduler on the same machine as the server, which reads the same file; use PostgreSQL to run schedulers on other machines`,
    );
  }
  for (const e of ac.registry.errors())
    log.error(`import error [${e.env}] ${e.file}:${e.line ?? '?'} ${e.message}`);
  await ac.scheduler.start();
  log.info({ store: ac.db.description, dags: ac.registry.list().length }, 'scheduler started');
  return {
    ...ac,
    async stop() {
      await ac.scheduler.stop();
      await ac.close();
    },
  };
}
