/**
 * Builds Airclutch from its config, without starting anything: the store, the DAGs, the policies,
 * the audit trail, the engine (its lifecycle recorded in the trail) and the gate in front of it.
 * The scheduler and DAG-to-DAG triggers submit through the gate, like every other source.
 * @module
 */
import { loadHmacKey } from '../audit/audit-keys.ts';
import type { AuditLog } from '../audit/audit-types.ts';
import { SqlAuditLog } from '../audit/sql-audit-log.ts';
import type { AirclutchConfig } from '../config/config-schema.ts';
import { DagRegistry } from '../dag/dag-registry.ts';
import { Engine } from '../engine/engine.ts';
import { Scheduler } from '../engine/scheduler.ts';
import { readDagFiles } from '../engine/sql/read-dag-files.ts';
import { transitionEvents } from '../gate/audit-events.ts';
import { Gate } from '../gate/gate.ts';
import { CedarPolicyEngine } from '../policy/cedar-policy-engine.ts';
import { policySourcesFromRegistry } from '../policy/policy-sources-from-registry.ts';
import { CedarPolicyStore, type LoadResult } from '../policy/policy-store.ts';
import type { Db } from '../store/create-db.ts';
import { openStore } from '../store/open-store.ts';

export interface Airclutch {
  readonly config: AirclutchConfig;
  readonly db: Db;
  readonly registry: DagRegistry;
  readonly policies: CedarPolicyStore;
  /** The first policy load (the set now active). */
  readonly policyLoad: LoadResult;
  readonly policy: CedarPolicyEngine;
  readonly audit: AuditLog;
  readonly engine: Engine;
  readonly gate: Gate;
  readonly scheduler: Scheduler;
  /** Closes the audit log and the store (stop the engine and scheduler first). */
  close(): Promise<void>;
}

export interface CreateOptions {
  /** An open store to use instead of the configured one (tests, benchmarks). */
  db?: Db;
  clock?: () => number;
  engine?: { pollIntervalMs?: number; concurrency?: number };
}

/**
 * @example
 * const ac = await createAirclutch(await loadConfig());
 * await ac.engine.start();
 */
export async function createAirclutch(
  config: AirclutchConfig,
  options: CreateOptions = {},
): Promise<Airclutch> {
  const db = options.db ?? (await openStore(config));
  const registry = new DagRegistry(config, { incumbents: await readDagFiles(db.kysely) });
  await registry.reload();
  const policies = new CedarPolicyStore(() => policySourcesFromRegistry(config, registry));
  const loaded = await policies.load();
  if (!loaded.ok) throw loaded.error;
  const policy = new CedarPolicyEngine(policies);
  const audit = new SqlAuditLog(db, {
    hmacKey: loadHmacKey(config),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const engine = new Engine({
    db,
    dags: registry,
    concurrency: options.engine?.concurrency ?? config.engine.concurrency,
    shutdownGraceMs: config.engine.shutdownGraceMs,
    defaultMaxActiveRuns: config.engine.defaultMaxActiveRuns,
    ...(options.engine?.pollIntervalMs ? { pollIntervalMs: options.engine.pollIntervalMs } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    hooks: {
      // Run and task lifecycle records commit with the transitions they record.
      onTransitions: async (trx, transitions) => {
        const events = transitionEvents(transitions);
        if (events.length) await audit.append(events, { trx });
      },
    },
  });
  const gate = new Gate({
    db,
    engine,
    dags: registry,
    policy,
    audit,
    config,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  engine.setSubmitter(gate.submitter());
  const scheduler = new Scheduler({
    db,
    submitter: () => engine.submitter,
    listDags: () => registry.list(),
    defaultMaxActiveRuns: config.engine.defaultMaxActiveRuns,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  return {
    config,
    db,
    registry,
    policies,
    policyLoad: loaded,
    policy,
    audit,
    engine,
    gate,
    scheduler,
    async close() {
      await audit.close();
      if (!options.db) await db.close();
    },
  };
}
