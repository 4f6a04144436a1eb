/**
 * Starts a fleet worker process (`airclutch worker`): the store, the DAGs, the audit trail and the
 * gate (for `ctx.trigger()`), and a `FleetWorker` claiming from the queues given. PostgreSQL only.
 * @module
 */
import { Registry } from 'prom-client';
import type { AirclutchConfig } from '../config/config-schema.ts';
import { FleetMetrics } from '../engine/fleet/fleet-metrics.ts';
import { FleetWorker } from '../engine/fleet/fleet-worker.ts';
import { leaseLostEvent } from '../engine/fleet/lease-lost-event.ts';
import { ShellTaskRunner } from '../engine/shell-task-runner.ts';
import { ThreadTaskRunner } from '../engine/thread-task-runner.ts';
import { AirclutchError } from '../lib/errors.ts';
import { storeUrl } from '../store/open-store.ts';
import { type Airclutch, createAirclutch } from './create-airclutch.ts';
import type { Logger } from './create-logger.ts';

export interface WorkerOptions {
  readonly concurrency?: number;
  readonly queues?: readonly string[];
  readonly log: Logger;
}

export interface WorkerApp {
  readonly ac: Airclutch;
  readonly worker: FleetWorker;
  readonly metrics: Registry;
  /** Drains (stops claiming, waits up to the grace period, hands back the rest), then closes the store. */
  stop(): Promise<void>;
}

export async function startWorker(config: AirclutchConfig, options: WorkerOptions): Promise<WorkerApp> {
  const url = storeUrl(config);
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new AirclutchError(
      'CONFIG_INVALID',
      `airclutch worker needs a PostgreSQL store shared by every process (databaseUrl: postgres://…); ${config.source} uses SQLite at ${url}, where \`airclutch server\` or \`airclutch dev\` runs tasks in process`,
    );
  }
  const ac = await createAirclutch(config);
  const metrics = new Registry();
  const { log } = options;
  // Task code runs in worker threads, so a busy loop cannot stall the heartbeats that keep its leases.
  const functions = new ThreadTaskRunner();
  functions.warm?.();
  const worker = new FleetWorker({
    db: ac.db,
    url,
    dags: ac.registry,
    hooks: ac.hooks,
    runners: { function: functions, shell: new ShellTaskRunner() },
    submitter: () => ac.gate.submitter(),
    concurrency: options.concurrency ?? config.engine.concurrency,
    queues: options.queues?.length ? options.queues : ['default'],
    queueLimits: new Map(Object.entries(config.engine.queues).map(([q, l]) => [q, l.concurrency])),
    leaseMs: config.engine.attemptLeaseMs,
    defaultMaxActiveRuns: config.engine.defaultMaxActiveRuns,
    recordRefusals: async (trx, refused) => {
      await ac.audit.append(refused.map(leaseLostEvent), { trx });
    },
    metrics: new FleetMetrics(metrics, ac.db),
    onError: (e) => log.error({ err: e }, 'worker error'),
  });
  await worker.start();
  log.info({ worker: worker.workerId, store: ac.db.description }, 'worker started');
  return {
    ac,
    worker,
    metrics,
    async stop() {
      await worker.drain(config.engine.shutdownGraceMs);
      await functions.close?.();
      await ac.close();
    },
  };
}
