/**
 * Builds Airclutch from its config, without starting anything: the store, the DAGs, the policies,
 * the audit trail, the engine (its lifecycle recorded in the trail) and the gate in front of it.
 * The scheduler and DAG-to-DAG triggers submit through the gate, like every other source.
 * @module
 */

import type { BridgeDeps } from '../airflow/airflow-actions.ts';
import type { AirflowCatalog } from '../airflow/airflow-catalog.ts';
import { AirflowExecutor } from '../airflow/airflow-executor.ts';
import { BridgedDagRegistry } from '../airflow/bridged-dag-registry.ts';
import { createAirflowBridge } from '../airflow/create-airflow-bridge.ts';
import { loadHmacKey } from '../audit/audit-keys.ts';
import type { AuditEvent, AuditLog } from '../audit/audit-types.ts';
import { SqlAuditLog } from '../audit/sql-audit-log.ts';
import type { AirclutchConfig } from '../config/config-schema.ts';
import { DagRegistry } from '../dag/dag-registry.ts';
import { Engine } from '../engine/engine.ts';
import type { EngineHooks, RecordText } from '../engine/engine-types.ts';
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
  /** The audit hook of the run and task lifecycle, for every executor this store runs (fleet workers too). */
  readonly hooks: EngineHooks;
  readonly engine: Engine;
  readonly gate: Gate;
  readonly scheduler: Scheduler;
  /** The Airflow bridge, when an environment is backed by Airflow (docs/airflow.md). */
  readonly airflow:
    | {
        readonly catalogs: ReadonlyMap<string, AirflowCatalog>;
        readonly executor: AirflowExecutor;
        /** What the bridge's gated actions need (pause, unpause, clearTask). */
        readonly deps: BridgeDeps;
      }
    | undefined;
  /** Closes the audit log and the store (stop the engine and scheduler first). */
  close(): Promise<void>;
}

export interface CreateOptions {
  /** An open store to use instead of the configured one (tests, benchmarks). */
  db?: Db;
  clock?: () => number;
  engine?: { pollIntervalMs?: number; concurrency?: number };
  scheduler?: { onError?: (e: Error) => void };
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
  const bridge = createAirflowBridge(config, options.clock ? { now: options.clock } : {});
  const incumbents = { incumbents: await readDagFiles(db.kysely) };
  const registry = bridge.catalogs.size
    ? new BridgedDagRegistry(config, bridge.catalogs, incumbents)
    : new DagRegistry(config, incumbents);
  await registry.reload();
  await bridge.refreshAll();
  const policies = new CedarPolicyStore(() => policySourcesFromRegistry(config, registry));
  const loaded = await policies.load();
  if (!loaded.ok) throw loaded.error;
  const policy = new CedarPolicyEngine(policies);
  const audit = new SqlAuditLog(db, {
    hmacKey: loadHmacKey(config),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const hooks: EngineHooks = {
    // Run and task lifecycle records commit with the transitions they record.
    onTransitions: async (trx, transitions, options) => {
      const events = transitionEvents(transitions);
      if (events.length) await audit.append(events, { trx, last: options?.last });
    },
    // The same records, as text the engine's PostgreSQL cycle statement places itself.
    recordTexts: (unplaced) => {
      const texts: Array<RecordText | null> = new Array(unplaced.length).fill(null);
      const events: Array<{ event: AuditEvent; tryFromStore: boolean }> = [];
      const at: number[] = [];
      for (const [i, u] of unplaced.entries()) {
        const [event] = transitionEvents([u.transition]);
        if (!event) continue;
        events.push({ event, tryFromStore: u.tryFromStore });
        at.push(i);
      }
      for (const [j, text] of audit.recordTexts(events).entries()) texts[at[j]!] = text;
      return texts;
    },
  };
  const engine = new Engine({
    db,
    dags: registry,
    ...(registry instanceof BridgedDagRegistry
      ? { isExternal: (r) => registry.isRemote(r.env, r.dag_id) }
      : {}),
    concurrency: options.engine?.concurrency ?? config.engine.concurrency,
    shutdownGraceMs: config.engine.shutdownGraceMs,
    defaultMaxActiveRuns: config.engine.defaultMaxActiveRuns,
    ...(options.engine?.pollIntervalMs ? { pollIntervalMs: options.engine.pollIntervalMs } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    hooks,
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
  const airflow =
    registry instanceof BridgedDagRegistry
      ? {
          catalogs: bridge.catalogs,
          executor: new AirflowExecutor({
            db,
            environments: bridge.environments,
            remoteDag: (env, dagId) => registry.remote(env, dagId),
            hooks,
            audit,
            ...(options.clock ? { now: options.clock } : {}),
            onTransitions: (t) => engine.reportTransitions(t),
            onError: (e) => engine.emit('error', e),
            onUnpaused: async (env) => {
              await bridge.catalogs
                .get(env)
                ?.refresh()
                .catch(() => undefined);
            },
          }),
          deps: {
            gate,
            registry,
            clients: new Map([...bridge.environments].map(([env, e]) => [env, e.client])),
          },
        }
      : undefined;
  // An approved unpause request (requestUnpause) is carried out by the bridge.
  if (airflow)
    gate.dagActions.set('unpause', (a, ctx) => airflow.executor.unpauseApproved(a.id, ctx.requestId));
  // A remote run the gate queued is delivered at once, not at the executor's next tick.
  if (airflow) engine.setExternalWaker((run) => airflow.executor.wake(run));
  const scheduler = new Scheduler({
    db,
    submitter: () => engine.submitter,
    listDags: () => registry.list(),
    defaultMaxActiveRuns: config.engine.defaultMaxActiveRuns,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.scheduler?.onError ? { onError: options.scheduler.onError } : {}),
  });
  return {
    config,
    db,
    registry,
    policies,
    policyLoad: loaded,
    policy,
    audit,
    hooks,
    engine,
    gate,
    scheduler,
    airflow,
    async close() {
      for (const c of bridge.catalogs.values()) c.stop();
      await airflow?.executor.stop();
      await audit.close();
      if (!options.db) await db.close();
    },
  };
}
