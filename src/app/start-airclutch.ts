/**
 * Starts Airclutch: recovers and starts the engine, the scheduler and the approval-expiry sweep. In
 * dev mode DAG files and policies reload when they change; a broken policy set never replaces a
 * working one. `airclutch dev` and `airclutch server` call it; embedders can too.
 * @module
 */
import { startAirflowBridge } from '../airflow/start-airflow-bridge.ts';
import { startAuditSinks } from '../audit/create-audit-sinks.ts';
import type { AirclutchConfig } from '../config/config-schema.ts';
import { configEvent, dagChangeEvents, policyLoadEvent } from '../gate/change-events.ts';
import { expireApprovals } from '../gate/vote.ts';
import { AirclutchError } from '../lib/errors.ts';
import { storeUrl } from '../store/open-store.ts';
import { type Airclutch, createAirclutch } from './create-airclutch.ts';
import type { Logger } from './create-logger.ts';
import { watchForChanges } from './watch-for-changes.ts';

export interface AirclutchApp extends Airclutch {
  /** Stops scheduling, lets running tasks finish within the grace period, closes the store. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Dev mode: DAG files and policies reload when they change. */
  dev?: boolean;
  /** Run the scheduler in this process (default true); false when `airclutch scheduler` runs it. */
  scheduler?: boolean;
  log: Logger;
  /**
   * False for `airclutch server --no-worker`: no in-process executor; tasks run on fleet workers
   * (`airclutch worker`) sharing the PostgreSQL store. Default true.
   */
  worker?: boolean;
}

/** How often pending approval requests are checked for expiry. */
const EXPIRY_SWEEP_MS = 5_000;

/**
 * @example
 * const app = await startAirclutch(await loadConfig(), { dev: true, log: createLogger({ dev: true }) });
 * process.on('SIGTERM', () => app.stop());
 */
export async function startAirclutch(config: AirclutchConfig, options: StartOptions): Promise<AirclutchApp> {
  const { log } = options;
  const inProcess = options.worker ?? true;
  if (!inProcess && !/^postgres(ql)?:\/\//.test(storeUrl(config))) {
    throw new AirclutchError(
      'CONFIG_INVALID',
      `--no-worker leaves task execution to fleet workers, which need a PostgreSQL store (databaseUrl: postgres://…); ${config.source} uses SQLite: drop --no-worker to run tasks in this process`,
    );
  }
  const ac = await createAirclutch(config);
  report(ac, log);
  const { engine, scheduler, registry, policies, gate } = ac;
  engine.on('error', (e) => log.error({ err: e }, 'engine error'));
  engine.on('run', (e) =>
    log.info({ run: e.runId, dag: e.dagId, env: e.env, error: e.error ?? undefined }, `run ${e.state}`),
  );
  engine.on('task', (e) => {
    if (e.state === 'failed' || e.state === 'up_for_retry')
      log.warn({ run: e.runId, task: e.taskId, error: e.error }, `task ${e.state}`);
    else if (e.state !== 'queued' && e.state !== 'pending')
      log.debug({ run: e.runId, task: e.taskId }, `task ${e.state}`);
  });
  gate.on('approvalRequested', ({ run, approval, reasons }) =>
    log.info(
      { run: run?.id, dag: approval.dag_id, approval: approval.id, quorum: approval.quorum, reasons },
      run ? 'run awaits approval' : `${approval.action} awaits approval`,
    ),
  );
  await ac.audit.append([
    configEvent(config),
    policyLoadEvent(ac.policyLoad, policies.current()),
    ...dagChangeEvents('added', registry.list()),
  ]);
  if (inProcess) await engine.start();
  else log.info('no in-process executor (--no-worker): fleet workers run the tasks');
  if (options.scheduler !== false) await scheduler.start();
  const stopAirflow = startAirflowBridge(ac, log);
  const sinks = startAuditSinks(ac.db, config, (e) =>
    log.error({ err: e }, 'audit sink delivery failed; it will retry'),
  );
  const sweep = setInterval(() => {
    expireApprovals(gate).catch((e) => log.error({ err: e }, 'approval expiry sweep failed'));
  }, EXPIRY_SWEEP_MS);
  const watching = options.dev ? watchForChanges(ac, log) : null;
  await watching?.ready;
  const active = policies.current();
  log.info(
    {
      store: ac.db.description,
      dags: registry.list().length,
      policies: active?.policies.size ?? 0,
      policyGeneration: active?.generation ?? 0,
    },
    'Airclutch started',
  );
  return {
    ...ac,
    async stop() {
      await watching?.close();
      clearInterval(sweep);
      await Promise.all(sinks.map((p) => p.stop()));
      await scheduler.stop();
      await stopAirflow();
      await engine.stop();
      await ac.close();
    },
  };
}

function report(ac: Airclutch, log: Logger): void {
  for (const d of ac.registry.list()) {
    log.info(
      `loaded DAG ${d.env}/${d.dag.id} (${d.dag.tasks.size} tasks${d.dag.options.schedule ? `, schedule ${d.dag.options.schedule}` : ''})`,
    );
  }
  for (const e of ac.registry.errors())
    log.error(`import error [${e.env}] ${e.file}:${e.line ?? '?'} ${e.message}`);
}
