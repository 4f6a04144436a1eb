/**
 * The messages between the engine and its task threads. Everything crossing is structured-cloned:
 * params, upstream outputs and run facts go in; log lines, trigger requests and the output (as JSON
 * text) come out. No token, secret or store handle ever crosses.
 * @module
 */
import type { AttemptResult } from './task-runner.ts';

/** Run one attempt: load the DAG's bundle (once per thread), find the task, call it with `ctx`. */
export interface RunMessage {
  readonly t: 'run';
  readonly id: number;
  /** The bundle's `file:` URL. */
  readonly url: string;
  readonly dagId: string;
  readonly taskId: string;
  /** The plain fields of the task's `ctx` (params, ids, tries, logical date, …). */
  readonly facts: Record<string, unknown>;
  /**
   * The outputs of every task upstream of this one, by task id (null when it has none). A Map: an
   * object with a task's ancestors as keys has a new shape for every task of a deep chain, and
   * building and copying those cost milliseconds a step at a depth of 1,000.
   */
  readonly upstream: ReadonlyMap<string, unknown>;
}

export type ToThread =
  | RunMessage
  | { readonly t: 'abort'; readonly id: number; readonly reason: string; readonly message: string }
  | {
      readonly t: 'reply';
      readonly id: number;
      readonly call: number;
      readonly value?: unknown;
      /** The submitter's refusal, with its error code when it had one. */
      readonly error?: { readonly code?: string; readonly message: string };
    };

/** A success crosses as JSON text, parsed once on the engine's side. */
export type ThreadResult =
  | { readonly state: 'success'; readonly outputJson: string }
  | Extract<AttemptResult, { state: 'failed' }>;

export type FromThread =
  | { readonly t: 'ready' }
  | { readonly t: 'beat' }
  | { readonly t: 'log'; readonly id: number; readonly line: string }
  | {
      readonly t: 'trigger';
      readonly id: number;
      readonly call: number;
      readonly dagId: string;
      readonly params?: Record<string, unknown>;
    }
  | { readonly t: 'done'; readonly id: number; readonly result: ThreadResult };

/**
 * Each attempt has a start flag in its thread's shared array (`workerData.claims`), at
 * `claimSlot(id)`: the thread swaps it from 0 to `CLAIM_STARTED` before running the code, the pool
 * from 0 to `CLAIM_MOVED` before sending the attempt elsewhere; whoever swaps first wins. One array
 * per thread, not one buffer per attempt: shared buffers are costly to allocate and to collect.
 */
export const CLAIM_STARTED = 1;
export const CLAIM_MOVED = 2;
/** Slots per thread: far more than the attempts one thread ever holds at once. */
export const CLAIM_SLOTS = 1 << 16;
export const claimSlot = (id: number) => id & (CLAIM_SLOTS - 1);

/** How often a busy thread says it is alive: a thread silent for `STALL_MS` is blocked. */
export const BEAT_MS = 20;
