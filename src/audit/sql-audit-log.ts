/** The default `AuditLog`: appends to the store's hash chain, in the caller's transaction or through a group-commit queue. @module */
import { AirclutchError, describeThrown } from '../lib/errors.ts';
import type { Db } from '../store/create-db.ts';
import { appendRecords } from './append-records.ts';
import { type AuditRowBody, canonicalBodyAroundSeq, canonicalBodyAroundSeqAndTry } from './audit-hash.ts';
import { eventToRowBody } from './audit-row.ts';
import type { AppendedRecord, AppendOptions, AuditEvent, AuditLog } from './audit-types.ts';

export interface SqlAuditLogOptions {
  /** Key for sensitive params and secrets. Without one, events carrying them are refused. */
  readonly hmacKey?: Buffer | undefined;
  readonly clock?: () => number;
  /** Most records one group commit writes. */
  readonly maxBatch?: number;
  /** Retries of a standalone commit that found the store busy (another process held the write lock). */
  readonly busyRetries?: number;
}

type Body = Omit<AuditRowBody, 'seq' | 'ts'>;
interface Pending {
  bodies: Body[];
  resolve: (acks: AppendedRecord[]) => void;
  reject: (e: unknown) => void;
}

// SQLite reports a held write lock as SQLITE_BUSY; PostgreSQL deadlock and serialization failures.
const RETRYABLE = new Set(['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', '40001', '40P01']);

/**
 * @example
 * const audit = new SqlAuditLog(db, { hmacKey });
 * await db.kysely.transaction().execute(async (trx) => {
 *   await trx.insertInto('runs').values(run).execute();
 *   await audit.append([{ action: 'trigger', actor, resource: { env, dagId, runId: run.id } }], { trx });
 * });
 */
export class SqlAuditLog implements AuditLog {
  readonly #db: Db;
  readonly #hmacKey: Buffer | undefined;
  readonly #clock: () => number;
  readonly #maxBatch: number;
  readonly #busyRetries: number;
  #pending: Pending[] = [];
  #draining: Promise<void> | null = null;
  #closed = false;

  constructor(db: Db, options: SqlAuditLogOptions = {}) {
    this.#db = db;
    this.#hmacKey = options.hmacKey;
    this.#clock = options.clock ?? Date.now;
    this.#maxBatch = options.maxBatch ?? 2_000;
    this.#busyRetries = options.busyRetries ?? 20;
  }

  async append(events: readonly AuditEvent[], options: AppendOptions = {}): Promise<AppendedRecord[]> {
    if (!Array.isArray(events)) throw new TypeError('append() takes an array of audit events');
    const bodies = events.map((e) => eventToRowBody(e, this.#hmacKey));
    if (bodies.length === 0) return [];
    if (options.trx) {
      try {
        return await appendRecords(options.trx, this.#db.dialect, bodies, this.#clock(), options.last);
      } catch (e) {
        throw this.#unavailable(bodies.length, e);
      }
    }
    if (this.#closed)
      throw new AirclutchError('AUDIT_UNAVAILABLE', 'the audit log is closed; action refused');
    return new Promise((resolve, reject) => {
      this.#pending.push({ bodies, resolve, reject });
      // A microtask lets appends issued in the same tick share the first commit.
      if (!this.#draining) this.#draining = Promise.resolve().then(() => this.#drain());
    });
  }

  /**
   * PostgreSQL: the canonical text of each event's record, for a statement of the caller's that
   * places them itself with `airclutch_append_audit` (migration 0014), in its transaction: the body
   * is `head + tail + seq + after`, or with `tryFromStore`, `head + try + tail + seq + after` where
   * that statement decides the try number (the event's details must end with it; see
   * `canonicalBodyAroundSeqAndTry`).
   */
  recordTexts(
    events: ReadonlyArray<{ readonly event: AuditEvent; readonly tryFromStore: boolean }>,
  ): Array<[head: string, tail: string, after: string]> {
    const now = this.#clock();
    return events.map(({ event, tryFromStore }) => {
      const body = eventToRowBody(event, this.#hmacKey);
      if (tryFromStore) return canonicalBodyAroundSeqAndTry(body, now);
      const [before, after] = canonicalBodyAroundSeq(body, now);
      return [before, '', after];
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#draining;
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch: Pending[] = [];
      let size = 0;
      while (
        this.#pending.length > 0 &&
        (batch.length === 0 || size + this.#pending[0]!.bodies.length <= this.#maxBatch)
      ) {
        const p = this.#pending.shift()!;
        batch.push(p);
        size += p.bodies.length;
      }
      try {
        const acks = await this.#commit(batch.flatMap((p) => p.bodies));
        let i = 0;
        for (const p of batch) {
          p.resolve(acks.slice(i, i + p.bodies.length));
          i += p.bodies.length;
        }
      } catch (e) {
        const err = this.#unavailable(size, e);
        for (const p of batch) p.reject(err);
      }
    }
    this.#draining = null;
  }

  async #commit(bodies: Body[]): Promise<AppendedRecord[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#db.kysely
          .transaction()
          .execute((trx) => appendRecords(trx, this.#db.dialect, bodies, this.#clock(), true));
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        if (attempt >= this.#busyRetries || typeof code !== 'string' || !RETRYABLE.has(code)) throw e;
      }
    }
  }

  #unavailable(count: number, cause: unknown): AirclutchError {
    if (cause instanceof AirclutchError && cause.code === 'AUDIT_UNAVAILABLE') return cause;
    return new AirclutchError(
      'AUDIT_UNAVAILABLE',
      `could not append ${count} audit record(s) to ${this.#db.description}: ${describeThrown(cause)}. ` +
        'The action was refused; check that the store is writable and migrated (`airclutch db migrate`).',
      { cause },
    );
  }
}
