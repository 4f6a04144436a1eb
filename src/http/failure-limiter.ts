/**
 * Counts failures per key (client IP) in fixed windows. Failed token checks feed it, so a client
 * guessing or replaying tokens is refused with 429 before its tokens are even parsed.
 * @module
 */

/**
 * @example
 * const limiter = new FailureLimiter({ max: 30, windowMs: 60_000 });
 * if (limiter.blocked(ip)) throw new AirclutchError('RATE_LIMITED', '…');
 */
export class FailureLimiter {
  readonly #windows = new Map<string, { start: number; count: number }>();
  readonly #max: number;
  readonly #windowMs: number;
  readonly #now: () => number;

  constructor(options: { max: number; windowMs: number; now?: () => number }) {
    this.#max = options.max;
    this.#windowMs = options.windowMs;
    this.#now = options.now ?? Date.now;
  }

  /** Milliseconds until the key may try again, or 0 when it is not blocked. */
  blockedFor(key: string): number {
    const w = this.#windows.get(key);
    if (!w) return 0;
    const left = w.start + this.#windowMs - this.#now();
    if (left <= 0) {
      this.#windows.delete(key);
      return 0;
    }
    return w.count >= this.#max ? left : 0;
  }

  record(key: string): void {
    const now = this.#now();
    const w = this.#windows.get(key);
    if (!w || now >= w.start + this.#windowMs) {
      // Bounded memory under a flood of distinct keys: expired windows are dropped first.
      if (this.#windows.size > 100_000) this.#prune(now);
      this.#windows.set(key, { start: now, count: 1 });
    } else w.count++;
  }

  #prune(now: number): void {
    for (const [k, w] of this.#windows) if (now >= w.start + this.#windowMs) this.#windows.delete(k);
    if (this.#windows.size > 100_000) this.#windows.clear();
  }
}
