/** The engine's seams: where DAGs come from, how runs are requested, and what it reports. @module */
import type { Transaction } from 'kysely';
import type { Dag } from '../dag/dag.ts';
import type { Principal } from '../identity/principal.ts';
import type { Database } from '../store/database.ts';
import type { RunState, TaskState } from './states.ts';

/** Where the engine finds a DAG's current definition. The DAG registry implements it. */
export interface DagSource {
  find(env: string, dagId: string): SourcedDag | undefined;
  /** Like `find`, but throws `DAG_NOT_FOUND` naming the near matches. */
  get(env: string, dagId: string): SourcedDag;
  /** Every DAG, of one environment or all. */
  list(env?: string): SourcedDag[];
}

export interface SourcedDag {
  readonly env: string;
  readonly dag: Dag<any>;
  readonly version: string;
  readonly file: string;
}

/** Where a run request came from: the gate's `source`. */
export type RunSource = 'api' | 'ui' | 'cli' | 'schedule' | 'backfill' | 'dag' | 'chat' | 'bridge';

/** A request to start a DAG, before params are validated. */
export interface RunRequest {
  readonly env: string;
  readonly dagId: string;
  readonly params?: unknown;
  readonly source: RunSource;
  readonly principal: Principal;
  readonly note?: string | undefined;
  /** Schedule and backfill runs: the tick they stand for. */
  readonly logicalDate?: number | undefined;
  /** Schedule and backfill runs: makes a tick produce at most one run. */
  readonly scheduleKey?: string | undefined;
}

/**
 * Submits run requests on behalf of the engine's own principals (the scheduler, a task triggering
 * another DAG). The default creates the run directly; with the gate in place, it is the gate.
 */
export interface RunSubmitter {
  submit(request: RunRequest): Promise<{ runId: string | null; outcome: string }>;
}

/** One state change the engine made, reported inside the transaction that made it. */
export type EngineTransition =
  | {
      readonly kind: 'run';
      readonly runId: string;
      readonly env: string;
      readonly dagId: string;
      readonly from: RunState;
      readonly to: RunState;
      readonly error?: string | null;
      /** The error code when the engine refused to start or go on (`DAG_CHANGED`, `RUN_UNDECIDED`, …). */
      readonly code?: string;
    }
  | {
      readonly kind: 'task';
      readonly runId: string;
      readonly env: string;
      readonly dagId: string;
      readonly taskId: string;
      readonly from: TaskState;
      readonly to: TaskState;
      readonly tryNumber?: number;
      readonly error?: string | null;
    };

export interface EngineHooks {
  /**
   * Called inside the transaction that makes the transitions: the audit trail records the run and
   * task lifecycle here, and a failure rolls the transitions back. `last`: the caller runs nothing
   * else in `trx` after the hook, so the hook's last statement may carry the commit
   * (`AppendOptions.last`).
   */
  onTransitions?(
    trx: Transaction<Database>,
    transitions: readonly EngineTransition[],
    options?: { readonly last?: boolean },
  ): Promise<void>;
  /**
   * Optional, PostgreSQL: the audit records `onTransitions` would append for these transitions,
   * one entry per transition (null: it has none), as canonical text that the engine's own cycle
   * statement places with `airclutch_append_audit` (migration 0014), for just the transitions
   * that statement makes: a step then waits on the store once instead of twice. The body is
   * `head + tail + seq + after`; with `tryFromStore`, the statement decides the try number
   * (a claim's) and the body is `head + try + tail + seq + after`. The engine then does not call
   * `onTransitions` for that cycle: both hooks must describe the same records.
   */
  recordTexts?(transitions: readonly UnplacedTransition[]): Array<RecordText | null>;
}

/** A transition whose audit record the engine's statement places (see `EngineHooks.recordTexts`). */
export interface UnplacedTransition {
  readonly transition: EngineTransition;
  /** A claim: the statement decides its try number (`transition.tryNumber` is a stand-in). */
  readonly tryFromStore: boolean;
}

/** An audit record's canonical text, in the pieces `EngineHooks.recordTexts` describes. */
export type RecordText = readonly [head: string, tail: string, after: string];
