/** Feeds a sink from the trail, at least once, with a cursor in the store that survives restarts. @module */
import type { Db } from '../store/create-db.ts';
import type { AuditRow } from './audit-hash.ts';
import { rowToRecord } from './audit-row.ts';
import type { AuditSink } from './audit-types.ts';

export interface SinkPumpOptions {
  readonly batchSize?: number;
  readonly pollMs?: number;
  /** Called when a delivery fails; the pump retries from its cursor on the next poll. */
  readonly onError?: (e: unknown) => void;
}

/**
 * Reads records after the sink's cursor, delivers them, and only then moves the cursor: a crash
 * between the two re-delivers the batch (at-least-once), never skips it.
 *
 * @example
 * const pump = new AuditSinkPump(db, new WebhookSink('siem', { url }));
 * pump.start();
 * // …
 * await pump.stop();
 */
export class AuditSinkPump {
  readonly #db: Db;
  readonly #sink: AuditSink;
  readonly #batchSize: number;
  readonly #pollMs: number;
  readonly #onError: (e: unknown) => void;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;
  #stopped = true;

  constructor(db: Db, sink: AuditSink, options: SinkPumpOptions = {}) {
    this.#db = db;
    this.#sink = sink;
    this.#batchSize = options.batchSize ?? 500;
    this.#pollMs = options.pollMs ?? 1_000;
    this.#onError = options.onError ?? (() => {});
  }

  /** The last seq the sink acknowledged (0 before the first delivery). */
  async cursor(): Promise<number> {
    const row = await this.#db.kysely
      .selectFrom('audit_sink_cursors')
      .select('last_seq')
      .where('sink', '=', this.#sink.name)
      .executeTakeFirst();
    return row ? Number(row.last_seq) : 0;
  }

  /** Delivers everything after the cursor, batch by batch. Returns how many records it delivered. */
  async drain(): Promise<number> {
    let delivered = 0;
    for (;;) {
      const after = await this.cursor();
      const rows = (await this.#db.kysely
        .selectFrom('audit_records')
        .selectAll()
        .where('seq', '>', after)
        .orderBy('seq')
        .limit(this.#batchSize)
        .execute()) as AuditRow[];
      if (rows.length === 0) return delivered;
      await this.#sink.deliver(rows.map(rowToRecord));
      const last = Number(rows.at(-1)!.seq);
      await this.#db.kysely
        .insertInto('audit_sink_cursors')
        .values({ sink: this.#sink.name, last_seq: last, updated_at: Date.now() })
        .onConflict((oc) => oc.column('sink').doUpdateSet({ last_seq: last, updated_at: Date.now() }))
        .execute();
      delivered += rows.length;
    }
  }

  /** Polls until `stop()`. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    const tick = () => {
      this.#running = this.drain()
        .catch(this.#onError)
        .finally(() => {
          if (!this.#stopped) this.#timer = setTimeout(tick, this.#pollMs);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    await this.#sink.close?.();
  }
}
