/**
 * Airflow's answers to the triggers the bridge delivered, kept briefly by remote run id, so that the
 * Airflow proxy can hand a caller Airflow's own answer to the POST that created its run while the
 * executor, which delivered it, records and follows the run. Nothing is delivered twice: the proxy
 * waits for the executor's delivery instead of sending its own.
 * @module
 */

/** What Airflow answered to a trigger: its status and JSON body, or why there was no answer yet. */
export type TriggerAnswer =
  | { readonly kind: 'answer'; readonly status: number; readonly body: unknown }
  | { readonly kind: 'undelivered'; readonly error: string };

interface Kept {
  readonly answer: TriggerAnswer;
  readonly at: number;
}

/**
 * @example
 * const answer = await client.triggerAnswers.wait('airclutch__r1', 10_000);
 */
export class TriggerAnswers {
  readonly #kept = new Map<string, Kept>();
  readonly #waiting = new Map<string, Set<(a: TriggerAnswer) => void>>();
  readonly #keepMs: number;
  readonly #max: number;

  constructor(options: { keepMs?: number; max?: number } = {}) {
    this.#keepMs = options.keepMs ?? 60_000;
    this.#max = options.max ?? 10_000;
  }

  /** Records the answer for `runId` and hands it to whoever waits for it. */
  settle(runId: string, answer: TriggerAnswer): void {
    const waiters = this.#waiting.get(runId);
    if (waiters) {
      this.#waiting.delete(runId);
      for (const w of waiters) w(answer);
      return;
    }
    const now = Date.now();
    // Answers nobody waits for are kept a short while (a waiter may arrive late), then dropped.
    for (const [id, k] of this.#kept) {
      if (this.#kept.size < this.#max && now - k.at < this.#keepMs) break;
      this.#kept.delete(id);
    }
    this.#kept.set(runId, { answer, at: now });
  }

  /** The answer for `runId`, once there is one; undefined after `timeoutMs`. */
  wait(runId: string, timeoutMs: number): Promise<TriggerAnswer | undefined> {
    const kept = this.#kept.get(runId);
    if (kept) {
      this.#kept.delete(runId);
      return Promise.resolve(kept.answer);
    }
    return new Promise((resolve) => {
      const waiters = this.#waiting.get(runId) ?? new Set();
      this.#waiting.set(runId, waiters);
      const done = (a: TriggerAnswer | undefined) => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0 && this.#waiting.get(runId) === waiters) this.#waiting.delete(runId);
        resolve(a);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      waiters.add(done);
    });
  }
}
