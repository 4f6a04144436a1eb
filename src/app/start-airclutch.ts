/**
 * The composition root: opens the store, loads the DAGs, and starts the engine and the scheduler.
 * `airclutch dev` and `airclutch server` call it; embedders can too.
 * @module
 */
import type { AirclutchConfig } from '../config/config-schema.ts';
import { DagRegistry } from '../dag/dag-registry.ts';
import { Engine } from '../engine/engine.ts';
import { Scheduler } from '../engine/scheduler.ts';
import type { Db } from '../store/create-db.ts';
import { openStore } from '../store/open-store.ts';
import type { Logger } from './create-logger.ts';

export interface AirclutchApp {
  readonly config: AirclutchConfig;
  readonly db: Db;
  readonly registry: DagRegistry;
  readonly engine: Engine;
  readonly scheduler: Scheduler;
  /** Stops scheduling, lets running tasks finish within the grace period, closes the store. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Dev mode: DAG files reload when they change. */
  dev?: boolean;
  log: Logger;
}

/**
 * @example
 * const app = await startAirclutch(await loadConfig(), { dev: true, log: createLogger({ dev: true }) });
 * process.on('SIGTERM', () => app.stop());
 */
export async function startAirclutch(config: AirclutchConfig, options: StartOptions): Promise<AirclutchApp> {
  const { log } = options;
  const db = await openStore(config);
  const registry = new DagRegistry(config);
  await registry.reload();
  reportDags(registry, log);
  const engine = new Engine({
    db,
    dags: registry,
    concurrency: config.engine.concurrency,
    shutdownGraceMs: config.engine.shutdownGraceMs,
    defaultMaxActiveRuns: config.engine.defaultMaxActiveRuns,
  });
  engine.on('error', (e) => log.error({ err: e }, 'engine error'));
  engine.on('run', (e) =>
    log.info(
      { run: e.runId, dag: e.dagId, env: e.env, state: e.state, error: e.error ?? undefined },
      `run ${e.state}`,
    ),
  );
  engine.on('task', (e) => {
    if (e.state !== 'queued' && e.state !== 'pending')
      log.debug({ run: e.runId, task: e.taskId, state: e.state }, `task ${e.state}`);
    if (e.state === 'failed' || e.state === 'up_for_retry')
      log.warn({ run: e.runId, task: e.taskId, error: e.error }, `task ${e.state}`);
  });
  const scheduler = new Scheduler({
    db,
    submitter: () => engine.submitter,
    listDags: () => registry.list(),
    defaultMaxActiveRuns: config.engine.defaultMaxActiveRuns,
    onError: (e) => log.error({ err: e }, 'scheduler error'),
  });
  await engine.start();
  await scheduler.start();
  let stopWatching: (() => void) | undefined;
  if (options.dev) {
    stopWatching = registry.watch();
    registry.on('change', (c) => {
      log.info({ added: c.added, changed: c.changed, removed: c.removed }, 'DAG files reloaded');
      for (const e of c.newErrors) log.error(`import error: ${e.file}:${e.line ?? '?'} ${e.message}`);
      scheduler.tick().catch((e) => log.error({ err: e }, 'scheduler error'));
    });
    registry.on('error', (e) => log.error({ err: e }, 'DAG reload failed'));
  }
  log.info({ store: db.description, dags: registry.list().length }, 'Airclutch started');
  return {
    config,
    db,
    registry,
    engine,
    scheduler,
    async stop() {
      stopWatching?.();
      await scheduler.stop();
      await engine.stop();
      await db.close();
    },
  };
}

function reportDags(registry: DagRegistry, log: Logger): void {
  for (const d of registry.list()) {
    log.info(
      `loaded DAG ${d.env}/${d.dag.id} (${d.dag.tasks.size} tasks${d.dag.options.schedule ? `, schedule ${d.dag.options.schedule}` : ''})`,
    );
  }
  for (const e of registry.errors())
    log.error(`import error [${e.env}] ${e.file}:${e.line ?? '?'} ${e.message}`);
}
