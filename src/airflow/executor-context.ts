/**
 * What the parts of the Airflow executor (deliverer, follower, cancel passer, unpause deliverer)
 * share: the store, the environments, the clock, and one way to record what they change.
 * @module
 */
import type { Transaction } from 'kysely';
import type { AuditEvent } from '../audit/audit-types.ts';
import type { EngineTransition } from '../engine/engine-types.ts';
import type { Db } from '../store/create-db.ts';
import type { Database } from '../store/database.ts';
import type { AirflowEnvironment } from './airflow-environment.ts';

/** The bridge's own identity in the audit trail. */
export const BRIDGE_ACTOR = { kind: 'service', id: 'airflow-bridge' } as const;

export interface ExecutorContext {
  readonly db: Db;
  /** env → its Airflow. */
  readonly environments: ReadonlyMap<string, AirflowEnvironment>;
  readonly now: () => number;
  /** Remote calls in flight at once. */
  readonly concurrency: number;
  /**
   * Records inside `trx`: the run and task lifecycle through the engine's audit hook (as for a local
   * run), then the bridge's own facts. A failure rolls the transaction back (fail closed).
   */
  record(
    trx: Transaction<Database>,
    transitions: readonly EngineTransition[],
    events: AuditEvent[],
  ): Promise<void>;
  /** After a transaction committed: the engine turns them into events (`waitForRun`, chat). */
  readonly onTransitions: (t: readonly EngineTransition[]) => void;
  readonly onError: (e: Error) => void;
}
