/**
 * A function task's `ctx` inside its task thread: the run's facts (copied in), `log`, `upstream`,
 * `trigger`, and `signal`, made only if the task's code reads it. A class with `signal` on its
 * prototype, not an object literal with a getter or a spread of the facts: on Node 20 those are
 * dictionary-mode objects, and they and everything they hold outlived the young generation, once
 * per attempt (in a fan-out a task thread promoted a third of all it allocated, 1.2 KB an attempt).
 * @module
 */
import type { AttemptAbortController } from './attempt-abort-controller.ts';

/** The functions of `ctx`; they post to the engine's thread. */
export interface ThreadTaskFunctions {
  log(...args: unknown[]): void;
  upstream(ref: string | { taskId: string }): unknown;
  trigger(dagId: string, params?: Record<string, unknown>): Promise<unknown>;
}

/**
 * @example
 * const ctx = new ThreadTaskContext(message.facts, { log, upstream, trigger }, abort);
 * await fn(ctx); // ctx.params, ctx.runId, …, ctx.signal
 */
export class ThreadTaskContext {
  readonly #abort: AttemptAbortController;

  constructor(facts: Record<string, unknown>, fns: ThreadTaskFunctions, abort: AttemptAbortController) {
    Object.assign(this, facts, fns);
    this.#abort = abort;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }
}
