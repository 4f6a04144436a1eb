/**
 * A fleet worker for tests and benches, wired as `airclutch worker` wires it: every transition and
 * every refused completion is an audit record in the cycle's transaction. Options override the
 * defaults (concurrency 64, the `default` queue, a 30 s lease).
 * @module
 */
import { Registry } from 'prom-client';
import { SqlAuditLog } from '../../src/audit/sql-audit-log.ts';
import type { DagSource } from '../../src/engine/engine-types.ts';
import { FleetMetrics } from '../../src/engine/fleet/fleet-metrics.ts';
import { FleetWorker, type FleetWorkerOptions } from '../../src/engine/fleet/fleet-worker.ts';
import { leaseLostEvent } from '../../src/engine/fleet/lease-lost-event.ts';
import { FunctionTaskRunner } from '../../src/engine/function-task-runner.ts';
import { ShellTaskRunner } from '../../src/engine/shell-task-runner.ts';
import { transitionEvents } from '../../src/gate/audit-events.ts';
import type { Db } from '../../src/store/create-db.ts';
import type { TestDb } from './test-db.ts';

export interface AuditedFleetWorkerOptions extends Partial<Omit<FleetWorkerOptions, 'url'>> {
  readonly db: Db;
  readonly dags: DagSource;
  /** The store's PostgreSQL URL and schema: the worker's LISTEN connection uses both. */
  readonly url: string;
  readonly schema: string;
  /** false leaves the transitions unrecorded, to measure what the records cost. */
  readonly audited?: boolean;
}

export function auditedFleetWorker(options: AuditedFleetWorkerOptions): FleetWorker {
  const { url, schema, audited = true, ...rest } = options;
  const audit = new SqlAuditLog(options.db);
  return new FleetWorker({
    url: `${url}?options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    hooks: audited
      ? {
          onTransitions: async (trx, transitions, o) => {
            const events = transitionEvents(transitions);
            if (events.length) await audit.append(events, { trx, last: o?.last });
          },
        }
      : {},
    runners: { function: new FunctionTaskRunner(), shell: new ShellTaskRunner() },
    submitter: () => {
      throw new TypeError('these DAGs trigger nothing');
    },
    concurrency: 64,
    queues: ['default'],
    queueLimits: new Map(),
    leaseMs: 30_000,
    defaultMaxActiveRuns: 1_000,
    recordRefusals: async (trx, refused) => {
      await audit.append(refused.map(leaseLostEvent), { trx });
    },
    metrics: new FleetMetrics(new Registry(), options.db),
    onError: (e) => process.stderr.write(`fleet worker: ${e.stack}\n`),
    ...rest,
  });
}

/** A worker on a test store (`createTestDb`'s URL and schema) whose cycle errors fail the test. */
export function testFleetWorker(
  db: TestDb,
  dags: DagSource,
  options: Partial<Omit<FleetWorkerOptions, 'url'>> = {},
): FleetWorker {
  return auditedFleetWorker({
    db,
    url: db.url,
    schema: db.schema!,
    dags,
    onError: (e) => {
      throw e;
    },
    ...options,
  });
}
