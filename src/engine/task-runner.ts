/**
 * The seam between the engine and the code a task runs. The engine claims an attempt, hands a
 * `AttemptWork` to a `TaskRunner`, and completes the attempt with the `AttemptResult`. Runners never
 * touch the store, so the claim-run-complete loop can move into a separate worker process.
 * @module
 */
import { inspect } from 'node:util';
import type { TaskDefinition } from '../dag/types.ts';
import type { AbortState } from './attempt-abort-controller.ts';

export interface AttemptWork {
  readonly attemptId: number;
  readonly runId: string;
  readonly env: string;
  readonly dagId: string;
  readonly taskId: string;
  readonly tryNumber: number;
  readonly maxTries: number;
  readonly params: unknown;
  readonly logicalDate: number | null;
  readonly task: TaskDefinition;
  /**
   * Aborted on timeout, cancellation and shutdown; `abort.reason` says which. `abort.signal` is the
   * AbortSignal task code gets, made when first read; a runner that only needs to hear the abort
   * uses `abort.onAbort` (see `AttemptAbortController`).
   */
  readonly abort: AbortState;
  upstream(taskId: string): unknown;
  /** Every upstream task's output (transitively), as `ctx.upstream()` may read any of them. */
  upstreamOutputs(): Map<string, unknown>;
  log(stream: 'log' | 'stdout' | 'stderr', line: string): void;
  trigger(
    dagId: string,
    params?: Record<string, unknown>,
  ): Promise<{ runId: string | null; outcome: string }>;
}

/** What a task's code is told about its run, shared by function tasks and shell commands built in code. */
export function runFacts(work: AttemptWork) {
  return {
    params: work.params,
    env: work.env,
    dagId: work.dagId,
    runId: work.runId,
    taskId: work.taskId,
    tryNumber: work.tryNumber,
    logicalDate: work.logicalDate === null ? null : new Date(work.logicalDate),
  };
}

/**
 * The data fields of `ctx` (what a task thread receives by structured clone; it rebuilds the functions).
 * Built with `Object.assign`, not a spread: on Node 20 a spread of this many fields makes a
 * dictionary-mode object, and it and all it holds outlive the young generation (once per attempt).
 */
export function plainContext(work: AttemptWork) {
  return Object.assign(runFacts(work), {
    attemptId: work.attemptId,
    idempotencyKey: `${work.runId}/${work.taskId}`,
    maxTries: work.maxTries,
  });
}

/**
 * The `ctx` a task's code gets: the run's facts, `upstream()`, `log()`, `trigger()` and the abort
 * signal. Function tasks get it, and so do shell commands built in code (`command: (ctx) => …`).
 */
export function taskContext(work: AttemptWork) {
  return Object.assign(plainContext(work), {
    signal: work.abort.signal,
    log: (...args: unknown[]) =>
      work.log('log', args.map((a) => (typeof a === 'string' ? a : inspect(a, { depth: 4 }))).join(' ')),
    upstream: (ref: string | { taskId: string }) => work.upstream(typeof ref === 'string' ? ref : ref.taskId),
    trigger: work.trigger,
  });
}

/** Why an attempt failed, for records and retry decisions. */
export type FailureReason =
  | 'error'
  | 'timeout'
  | 'cancelled'
  | 'shutdown'
  | 'crashed'
  | 'invalid_output'
  /** Its holder stopped renewing the lease (killed, cut off, stalled); another process reclaimed it. */
  | 'lease_expired';

export type AttemptResult =
  | {
      readonly state: 'success';
      readonly output: unknown;
      /** The output as stored: JSON text. */
      readonly outputJson: string;
      readonly exitCode?: number;
    }
  | {
      readonly state: 'failed';
      readonly reason: FailureReason;
      readonly error: string;
      readonly exitCode?: number;
    };

export interface TaskRunner {
  run(work: AttemptWork): Promise<AttemptResult>;
  /** Gets ready ahead of the first attempt (starts task threads); the engine calls it on start. */
  warm?(): void;
  /** Releases what the runner holds (task threads), once the engine's attempts have ended. */
  close?(): Promise<void>;
}

/** Why the engine aborted an attempt's signal. */
export class AttemptAbort extends Error {
  constructor(
    readonly reason: Exclude<FailureReason, 'error' | 'crashed' | 'invalid_output' | 'lease_expired'>,
    message: string,
  ) {
    super(message);
    this.name = 'AttemptAbort';
  }
}

/** The failure an aborted signal (or `AbortState`) stands for. */
export function abortFailure(aborted: { readonly reason: unknown }): AttemptResult {
  const r = aborted.reason;
  return r instanceof AttemptAbort
    ? { state: 'failed', reason: r.reason, error: r.message }
    : { state: 'failed', reason: 'cancelled', error: 'attempt was aborted' };
}
