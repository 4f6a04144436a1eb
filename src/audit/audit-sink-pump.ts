/** Feeds a sink from the trail, at least once, with a cursor in the store that survives restarts. @module */
import { isAirclutchError } from '../lib/errors.ts';
import type { Db } from '../store/create-db.ts';
import type { AuditRow } from './audit-hash.ts';
import { rowToRecord } from './audit-row.ts';
import type { AuditSink } from './audit-types.ts';

export interface SinkPumpOptions {
  readonly batchSize?: number;
  readonly pollMs?: number;
  /**
   * Where a sink without a cursor starts: `start` (default) sends the whole trail, as a SIEM wants;
   * `now` starts after the current head, as a chat channel wants (no replay of old approvals).
   */
  readonly from?: 'start' | 'now';
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
  readonly #from: 'start' | 'now';
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;
  #stopped = true;
  #again = false;
  #primed = false;

  constructor(db: Db, sink: AuditSink, options: SinkPumpOptions = {}) {
    this.#db = db;
    this.#sink = sink;
    this.#batchSize = options.batchSize ?? 500;
    this.#pollMs = options.pollMs ?? 1_000;
    this.#onError = options.onError ?? (() => {});
    this.#from = options.from ?? 'start';
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
    await this.prime();
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
      try {
        await this.#sink.deliver(rows.map(rowToRecord));
      } catch (e) {
        // A sink that got part of the batch through says how far: that part is not sent again.
        const through = isAirclutchError(e) ? e.details?.deliveredThrough : undefined;
        if (typeof through === 'number' && through > after) await this.#saveCursor(through);
        throw e;
      }
      await this.#saveCursor(Number(rows.at(-1)!.seq));
      delivered += rows.length;
    }
  }

  async #saveCursor(seq: number): Promise<void> {
    await this.#db.kysely
      .insertInto('audit_sink_cursors')
      .values({ sink: this.#sink.name, last_seq: seq, updated_at: Date.now() })
      .onConflict((oc) => oc.column('sink').doUpdateSet({ last_seq: seq, updated_at: Date.now() }))
      .execute();
  }

  /** With `from: 'now'`, places a sink seen for the first time after the current head. */
  async prime(): Promise<void> {
    if (this.#from !== 'now' || this.#primed) return;
    const known = await this.#db.kysely
      .selectFrom('audit_sink_cursors')
      .select('sink')
      .where('sink', '=', this.#sink.name)
      .executeTakeFirst();
    if (known) {
      this.#primed = true;
      return;
    }
    const head = await this.#db.kysely.selectFrom('audit_head').select('seq').executeTakeFirst();
    await this.#db.kysely
      .insertInto('audit_sink_cursors')
      .values({ sink: this.#sink.name, last_seq: Number(head?.seq ?? 0), updated_at: Date.now() })
      .onConflict((oc) => oc.column('sink').doNothing())
      .execute();
    this.#primed = true;
  }

  /** Polls until `stop()`. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#tick();
  }

  /** Something was just recorded: drain now rather than at the next poll (coalesced while one runs). */
  nudge(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#tick();
  }

  #tick(): void {
    this.#again = false;
    this.#running = this.drain()
      .catch(this.#onError)
      .finally(() => {
        this.#running = undefined;
        if (this.#stopped) return;
        if (this.#again) this.#tick();
        else this.#timer = setTimeout(() => this.#tick(), this.#pollMs);
      });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    await this.#sink.close?.();
  }
}
