/**
 * What `AbortController` does for one attempt, with its `AbortSignal` made only when something reads
 * it. On Node 20 an AbortSignal outlives the young generation even when it dies at once: 400,000
 * signals, 64 alive at a time, put 158 MB into the old space, against 0.15 MB for as many plain
 * objects or for controllers whose signal nobody read. One per attempt, in the engine and again in
 * its task thread, filled both old spaces with garbage during a fan-out, and V8 sizes each heap as a
 * multiple of that. Task code and the in-process runners still get a real signal (`signal`); the
 * thread runner and the task thread only need to hear the abort (`onAbort`).
 * @module
 */

/** The abort as a runner sees it: whether and why, and a way to hear it without an AbortSignal. */
export interface AbortState {
  readonly aborted: boolean;
  readonly reason: unknown;
  /** A real AbortSignal for task code, made on first read. */
  readonly signal: AbortSignal;
  /** Calls `listener` once when aborted (not if it already is: check `aborted`); returns its remover. */
  onAbort(listener: () => void): () => void;
}

/**
 * @example
 * const abort = new AttemptAbortController();
 * const off = abort.onAbort(() => console.log('aborted:', abort.reason));
 * abort.abort(new Error('timeout')); // the listener runs; abort.signal is an aborted AbortSignal
 */
export class AttemptAbortController implements AbortState {
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;
  #listeners: Array<() => void> | undefined;

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  /** A real AbortSignal, made on first read (already aborted if the attempt is). */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** Aborts once: the signal's listeners run first, then those given to `onAbort`. */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    const listeners = this.#listeners ?? [];
    this.#listeners = undefined;
    for (const listener of listeners) listener();
  }

  onAbort(listener: () => void): () => void {
    if (this.#aborted) return () => {};
    this.#listeners ??= [];
    this.#listeners.push(listener);
    return () => {
      const i = this.#listeners?.indexOf(listener) ?? -1;
      if (i >= 0) this.#listeners!.splice(i, 1);
    };
  }
}
