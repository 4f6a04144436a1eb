/**
 * Delivers JSON to webhook receivers with retries: 2xx is done; 408, 429 and 5xx (or a network
 * error) retry with exponential backoff up to `maxAttempts`; any other answer is final. Delivery is
 * at-least-once while the process lives: pending retries do not survive a restart.
 * @module
 */
import { createHmac } from 'node:crypto';

export interface Delivery {
  readonly url: string;
  readonly body: string;
  readonly headers?: Record<string, string>;
  readonly maxAttempts: number;
  /** Signs each attempt (fresh timestamp): `x-airclutch-signature: t=…,v1=…`. */
  readonly secret?: string;
}

/** `t=<unix s>,v1=<hex HMAC-SHA256 over "<t>.<body>">`. */
export function airclutchSignature(secret: string, timestampSec: number, body: string): string {
  return `t=${timestampSec},v1=${createHmac('sha256', secret).update(`${timestampSec}.${body}`).digest('hex')}`;
}

/**
 * @example
 * const out = new WebhookDelivery({ onGiveUp: (d, why) => log.warn(why) });
 * out.send({ url, body: JSON.stringify(event), secret, maxAttempts: 5 });
 * await out.close();
 */
export class WebhookDelivery {
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #inFlight = new Set<Promise<void>>();
  readonly #abort = new AbortController();
  readonly #retryBaseMs: number;
  readonly #onGiveUp: (d: Delivery, reason: string) => void;
  readonly #now: () => number;

  constructor(
    options: {
      retryBaseMs?: number;
      onGiveUp?: (d: Delivery, reason: string) => void;
      now?: () => number;
    } = {},
  ) {
    this.#retryBaseMs = options.retryBaseMs ?? 500;
    this.#onGiveUp = options.onGiveUp ?? (() => {});
    this.#now = options.now ?? Date.now;
  }

  send(d: Delivery, attempt = 1): void {
    if (this.#abort.signal.aborted) return;
    const p = this.#attempt(d, attempt).finally(() => this.#inFlight.delete(p));
    this.#inFlight.add(p);
  }

  /** Waits for attempts under way, drops scheduled retries. */
  async close(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#abort.abort();
    await Promise.allSettled([...this.#inFlight]);
  }

  async #attempt(d: Delivery, attempt: number): Promise<void> {
    let reason: string;
    try {
      const headers: Record<string, string> = { 'content-type': 'application/json', ...d.headers };
      if (d.secret)
        headers['x-airclutch-signature'] = airclutchSignature(
          d.secret,
          Math.floor(this.#now() / 1000),
          d.body,
        );
      const res = await fetch(d.url, {
        method: 'POST',
        headers,
        body: d.body,
        signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(10_000)]),
      });
      await res.body?.cancel();
      if (res.ok) return;
      reason = `HTTP ${res.status}`;
      if (res.status !== 408 && res.status !== 429 && res.status < 500) {
        this.#onGiveUp(d, `${d.url} refused the delivery (${reason}); not retried`);
        return;
      }
    } catch (e) {
      if (this.#abort.signal.aborted) return;
      reason = (e as Error).message;
    }
    if (attempt >= d.maxAttempts) {
      this.#onGiveUp(d, `${d.url} failed ${attempt} times (last: ${reason}); giving up`);
      return;
    }
    const t = setTimeout(
      () => {
        this.#timers.delete(t);
        this.send(d, attempt + 1);
      },
      this.#retryBaseMs * 2 ** (attempt - 1),
    );
    this.#timers.add(t);
  }
}
