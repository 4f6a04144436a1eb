/**
 * A worker's heartbeat, every third of the lease: one UPDATE renews the leases of every attempt it
 * runs (those not returned were reclaimed: `onLost`), and its row in `workers` is upserted (what
 * `airclutch workers list` shows). A beat that comes late (a stalled event loop) is counted.
 * Once a minute a beat also deletes the rows of workers silent for `FORGOTTEN_AFTER_MS`: a worker
 * killed without draining leaves its row, and its attempts were reclaimed long before.
 * @module
 */
import { hostname } from 'node:os';
import type { Db } from '../../store/create-db.ts';
import { renewLeases } from '../sql/renew-leases.ts';

/** A worker whose heartbeat is older than this is no longer listed, and its row is deleted. */
export const FORGOTTEN_AFTER_MS = 5 * 60_000;
const SWEEP_EVERY_MS = 60_000;

export interface HeartbeatOptions {
  readonly db: Db;
  readonly workerId: string;
  readonly queues: readonly string[];
  readonly concurrency: number;
  readonly leaseMs: number;
  readonly now: () => number;
  readonly running: () => number[];
  readonly draining: () => boolean;
  readonly onLost: (attemptIds: number[]) => void;
  readonly onMissed: (beats: number) => void;
  readonly onError: (e: Error) => void;
}

export class WorkerHeartbeat {
  readonly #o: HeartbeatOptions;
  readonly #everyMs: number;
  readonly #startedAt: number;
  #timer: NodeJS.Timeout | undefined;
  #last = 0;
  #swept = 0;
  #beating: Promise<void> | undefined;

  constructor(options: HeartbeatOptions) {
    this.#o = options;
    this.#everyMs = Math.max(50, Math.floor(options.leaseMs / 3));
    this.#startedAt = options.now();
  }

  async start(): Promise<void> {
    await this.beat();
    this.#timer = setInterval(() => {
      if (!this.#beating) this.beat().catch(this.#o.onError);
    }, this.#everyMs);
  }

  async beat(): Promise<void> {
    const run = this.#beat().finally(() => {
      this.#beating = undefined;
    });
    this.#beating = run;
    return run;
  }

  async #beat(): Promise<void> {
    const o = this.#o;
    const now = o.now();
    if (this.#last && now - this.#last > this.#everyMs * 1.5)
      o.onMissed(Math.floor((now - this.#last) / this.#everyMs) - 1);
    this.#last = now;
    const mine = o.running();
    const held = await renewLeases(o.db.kysely, o.workerId, now, o.leaseMs);
    const lost = mine.filter((id) => !held.has(id));
    if (lost.length) o.onLost(lost);
    const row = {
      id: o.workerId,
      host: hostname(),
      pid: process.pid,
      queues: JSON.stringify(o.queues),
      concurrency: o.concurrency,
      running: mine.length,
      started_at: this.#startedAt,
      last_seen_at: now,
      draining: o.draining() ? 1 : 0,
    };
    await o.db.kysely
      .insertInto('workers')
      .values(row)
      .onConflict((c) =>
        c.column('id').doUpdateSet({ running: row.running, last_seen_at: now, draining: row.draining }),
      )
      .execute();
    if (now - this.#swept >= SWEEP_EVERY_MS) {
      this.#swept = now;
      await o.db.kysely
        .deleteFrom('workers')
        .where('last_seen_at', '<', now - FORGOTTEN_AFTER_MS)
        .execute();
    }
  }

  /** Stops beating and removes the worker's row: it left cleanly. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#beating;
    await this.#o.db.kysely.deleteFrom('workers').where('id', '=', this.#o.workerId).execute();
  }
}
