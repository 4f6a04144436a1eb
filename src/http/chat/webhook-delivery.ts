/**
 * One webhook delivery with retries: 2xx is done; 408, 429 and 5xx (or a network error) retry with
 * exponential backoff up to `maxAttempts`; any other answer is a final refusal. Deliveries are fed
 * from the audit trail by a pump with a persisted cursor, so what is still failing after its retries
 * is sent again on the next pass, also after a restart (at least once; event ids stay the same).
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

export interface DeliveryOptions {
  /** The first retry's delay; later ones double (default 500 ms). */
  readonly retryBaseMs?: number;
  readonly now?: () => number;
  /** Aborts waits and requests (shutdown). */
  readonly signal?: AbortSignal;
}

/** `delivered`, `refused` (a final 4xx: retrying cannot help), or `failed` after every attempt. */
export type DeliveryOutcome =
  | { readonly outcome: 'delivered' }
  | { readonly outcome: 'refused' | 'failed'; readonly reason: string };

/** `t=<unix s>,v1=<hex HMAC-SHA256 over "<t>.<body>">`. */
export function airclutchSignature(secret: string, timestampSec: number, body: string): string {
  return `t=${timestampSec},v1=${createHmac('sha256', secret).update(`${timestampSec}.${body}`).digest('hex')}`;
}

/**
 * @example
 * const r = await deliverWebhook({ url, body: JSON.stringify(event), secret, maxAttempts: 5 });
 * if (r.outcome !== 'delivered') log.warn(r.reason);
 */
export async function deliverWebhook(d: Delivery, options: DeliveryOptions = {}): Promise<DeliveryOutcome> {
  const now = options.now ?? Date.now;
  const retryBaseMs = options.retryBaseMs ?? 500;
  // The URL may carry a token (Slack's incoming webhooks do): messages name its origin only.
  const where = new URL(d.url).origin;
  let reason = '';
  for (let attempt = 1; attempt <= d.maxAttempts; attempt++) {
    if (attempt > 1) await sleep(retryBaseMs * 2 ** (attempt - 2), options.signal);
    if (options.signal?.aborted) break;
    try {
      const headers: Record<string, string> = { 'content-type': 'application/json', ...d.headers };
      if (d.secret)
        headers['x-airclutch-signature'] = airclutchSignature(d.secret, Math.floor(now() / 1000), d.body);
      const res = await fetch(d.url, {
        method: 'POST',
        headers,
        body: d.body,
        signal: options.signal
          ? AbortSignal.any([options.signal, AbortSignal.timeout(10_000)])
          : AbortSignal.timeout(10_000),
      });
      await res.body?.cancel();
      if (res.ok) return { outcome: 'delivered' };
      reason = `HTTP ${res.status}`;
      if (res.status !== 408 && res.status !== 429 && res.status < 500) {
        return { outcome: 'refused', reason: `${where} refused the delivery (${reason}); not retried` };
      }
    } catch (e) {
      reason = (e as Error).message;
    }
  }
  return { outcome: 'failed', reason: `${where} failed ${d.maxAttempts} times (last: ${reason})` };
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });
}
