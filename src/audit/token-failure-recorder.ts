/**
 * Failed token checks, aggregated: a flood of bad tokens must not flood the trail (or become a way to
 * slow every writer). Failures are counted per (code, issuer, client address) and written as one
 * `token.rejected` record per key per window, with the count and the first and last time. Past
 * `maxKeys` distinct keys in a window, the rest are counted in one overflow record.
 * @module
 */
import type { AuditLog } from './audit-types.ts';

export interface TokenFailure {
  readonly code: string;
  readonly issuer?: string | undefined;
  readonly ip?: string | undefined;
}

interface Bucket {
  failure: TokenFailure;
  count: number;
  first: number;
  last: number;
}

export class TokenFailureRecorder {
  readonly #audit: AuditLog;
  readonly #windowMs: number;
  readonly #maxKeys: number;
  readonly #now: () => number;
  #buckets = new Map<string, Bucket>();
  #overflow = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(audit: AuditLog, options: { windowMs?: number; maxKeys?: number; clock?: () => number } = {}) {
    this.#audit = audit;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#maxKeys = options.maxKeys ?? 1_000;
    this.#now = options.clock ?? Date.now;
  }

  /** Counts one failure; never throws and never waits on the store. */
  record(failure: TokenFailure): void {
    const key = `${failure.code}\u0000${failure.issuer ?? ''}\u0000${failure.ip ?? ''}`;
    const now = this.#now();
    const bucket = this.#buckets.get(key);
    if (bucket) {
      bucket.count++;
      bucket.last = now;
    } else if (this.#buckets.size < this.#maxKeys) {
      this.#buckets.set(key, { failure, count: 1, first: now, last: now });
    } else {
      this.#overflow++;
    }
    this.#timer ??= setTimeout(() => {
      this.flush().catch(() => {});
    }, this.#windowMs).unref();
  }

  /** Writes the counted failures and starts a new window. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const buckets = [...this.#buckets.values()];
    const overflow = this.#overflow;
    this.#buckets = new Map();
    this.#overflow = 0;
    const events = buckets.map((b) => ({
      action: 'token.rejected',
      source: 'api',
      outcome: b.failure.code,
      details: {
        count: b.count,
        first: b.first,
        last: b.last,
        ...(b.failure.issuer ? { issuer: b.failure.issuer } : {}),
        ...(b.failure.ip ? { ip: b.failure.ip } : {}),
      },
    }));
    if (overflow)
      events.push({
        action: 'token.rejected',
        source: 'api',
        outcome: 'overflow',
        details: { count: overflow, first: 0, last: this.#now() },
      });
    if (events.length) await this.#audit.append(events);
  }
}
