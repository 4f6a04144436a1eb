/**
 * Refusals of callers who may not be who they claim (a bad token, an unsigned webhook, a wrong
 * content type), aggregated: a flood of them must not flood the trail. They are counted per (code, subject, client
 * address) and written as one record per key per window, with the count and the first and last
 * time. Past `maxKeys` distinct keys in a window, the rest are counted in one `overflow` record.
 * @module
 */
import type { AuditLog } from './audit-types.ts';

export interface Refusal {
  /** The error code the caller got. */
  readonly code: string;
  /** Who the request claimed to come from, when it was signed (a Slack user id). */
  readonly subject?: string | undefined;
  readonly ip?: string | undefined;
}

export interface RefusalRecorderOptions {
  /** The records' action, such as `chat.rejected`. */
  readonly action: string;
  /** The records' source, such as `chat`. */
  readonly source: string;
  /** The `details` field that names the subject: `subject` (a Slack user), or `issuer` for tokens. */
  readonly subjectField?: string;
  readonly windowMs?: number;
  readonly maxKeys?: number;
  readonly clock?: () => number;
}

interface Bucket {
  refusal: Refusal;
  count: number;
  first: number;
  last: number;
}

/**
 * @example
 * const refusals = new RefusalRecorder(ac.audit, { action: 'chat.rejected', source: 'chat' });
 * refusals.record({ code: 'WEBHOOK_SIGNATURE_INVALID', ip: req.ip });
 * await refusals.flush(); // on close
 */
export class RefusalRecorder {
  readonly #audit: AuditLog;
  readonly #options: Required<Omit<RefusalRecorderOptions, 'clock'>>;
  readonly #now: () => number;
  #buckets = new Map<string, Bucket>();
  #overflow = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(audit: AuditLog, options: RefusalRecorderOptions) {
    this.#audit = audit;
    this.#options = { windowMs: 60_000, maxKeys: 1_000, subjectField: 'subject', ...options };
    this.#now = options.clock ?? Date.now;
  }

  /** Counts one refusal; never throws and never waits on the store. */
  record(refusal: Refusal): void {
    const key = `${refusal.code}\u0000${refusal.subject ?? ''}\u0000${refusal.ip ?? ''}`;
    const now = this.#now();
    const bucket = this.#buckets.get(key);
    if (bucket) {
      bucket.count++;
      bucket.last = now;
    } else if (this.#buckets.size < this.#options.maxKeys) {
      this.#buckets.set(key, { refusal, count: 1, first: now, last: now });
    } else {
      this.#overflow++;
    }
    this.#timer ??= setTimeout(() => {
      this.flush().catch(() => {});
    }, this.#options.windowMs).unref();
  }

  /** Writes the counted refusals and starts a new window. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const { action, source, subjectField } = this.#options;
    const events = [...this.#buckets.values()].map((b) => ({
      action,
      source,
      outcome: b.refusal.code,
      details: {
        count: b.count,
        first: b.first,
        last: b.last,
        ...(b.refusal.subject ? { [subjectField]: b.refusal.subject } : {}),
        ...(b.refusal.ip ? { ip: b.refusal.ip } : {}),
      },
    }));
    if (this.#overflow)
      events.push({
        action,
        source,
        outcome: 'overflow',
        details: { count: this.#overflow, first: 0, last: this.#now() },
      });
    this.#buckets = new Map();
    this.#overflow = 0;
    if (events.length) await this.#audit.append(events);
  }
}
