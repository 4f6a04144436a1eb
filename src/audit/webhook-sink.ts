/** A sink that POSTs batches of records to a SIEM's HTTP collector, retrying with exponential backoff. @module */
import { AirclutchError } from '../lib/errors.ts';
import type { AuditRecord, AuditSink } from './audit-types.ts';

export interface WebhookSinkOptions {
  readonly url: string;
  readonly headers?: Record<string, string>;
  /** Retries after the first try (default 8). */
  readonly maxRetries?: number;
  /** The first retry's delay; later ones double, capped at 30 s (default 500 ms). */
  readonly retryDelayMs?: number;
  readonly timeoutMs?: number;
  /** Injected for tests; defaults to a timer. */
  readonly sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * POSTs `{"records":[…]}` as JSON. A 2xx acknowledges the batch; anything else (or a network
 * error) is retried, then reported as `AUDIT_UNAVAILABLE` so the pump keeps its cursor and tries again.
 *
 * @example
 * new WebhookSink('siem', { url: 'https://siem.example.com/airclutch', headers: { authorization: 'Bearer …' } });
 */
export class WebhookSink implements AuditSink {
  readonly #o: Required<Omit<WebhookSinkOptions, 'headers'>> & { headers: Record<string, string> };

  constructor(
    readonly name: string,
    options: WebhookSinkOptions,
  ) {
    this.#o = {
      url: options.url,
      headers: options.headers ?? {},
      maxRetries: options.maxRetries ?? 8,
      retryDelayMs: options.retryDelayMs ?? 500,
      timeoutMs: options.timeoutMs ?? 10_000,
      sleep: options.sleep ?? defaultSleep,
    };
  }

  async deliver(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    const body = JSON.stringify({ records });
    let last = '';
    for (let attempt = 0; attempt <= this.#o.maxRetries; attempt++) {
      if (attempt > 0) await this.#o.sleep(Math.min(this.#o.retryDelayMs * 2 ** (attempt - 1), 30_000));
      try {
        const res = await fetch(this.#o.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...this.#o.headers },
          body,
          signal: AbortSignal.timeout(this.#o.timeoutMs),
        });
        await res.arrayBuffer();
        if (res.ok) return;
        last = `HTTP ${res.status}`;
      } catch (e) {
        last = (e as Error).message;
      }
    }
    // The URL may carry a token in its query; name only its origin.
    throw new AirclutchError(
      'AUDIT_UNAVAILABLE',
      `audit sink ${this.name} could not deliver ${records.length} record(s) to ${new URL(this.#o.url).origin} after ${this.#o.maxRetries + 1} tries (${last}); it will resume from its cursor`,
    );
  }
}
