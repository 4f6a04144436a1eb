/**
 * The engine lease. Crash recovery fails every attempt left running by another process, so two
 * engines on one store would fail each other's work: the lease makes sure only one runs. It is
 * renewed while the engine lives, and taken over when it expires, or at once when its holder was a
 * process on this host that is gone (after `kill -9`, the next start need not wait).
 * @module
 */
import { hostname } from 'node:os';
import { AirclutchError } from '../lib/errors.ts';
import type { Db } from '../store/create-db.ts';
import { isUniqueViolation } from '../store/is-unique-violation.ts';

const NAME = 'executor';

export class EngineLease {
  readonly #db: Db;
  readonly #holder: string;
  readonly #ttlMs: number;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;

  constructor(db: Db, holder: string, options: { ttlMs?: number; clock?: () => number } = {}) {
    this.#db = db;
    this.#holder = holder;
    this.#ttlMs = options.ttlMs ?? 15_000;
    this.#now = options.clock ?? Date.now;
  }

  /** Takes the lease or throws `STATE_CONFLICT` naming the engine that holds it. */
  async acquire(): Promise<void> {
    const now = this.#now();
    const row = {
      name: NAME,
      holder: this.#holder,
      host: hostname(),
      pid: process.pid,
      expires_at: now + this.#ttlMs,
    };
    const q = this.#db.kysely;
    const current = await q
      .selectFrom('engine_leases')
      .selectAll()
      .where('name', '=', NAME)
      .executeTakeFirst();
    if (!current) {
      try {
        await q.insertInto('engine_leases').values(row).execute();
        return this.#renewEvery();
      } catch (e) {
        if (!isUniqueViolation(e)) throw e;
        return this.acquire();
      }
    }
    const free =
      current.holder === this.#holder ||
      current.expires_at < now ||
      (current.host === hostname() && !alive(current.pid));
    if (!free) {
      throw new AirclutchError(
        'STATE_CONFLICT',
        `another Airclutch engine (pid ${current.pid} on ${current.host}) runs this store's runs; stop it, or point this one at another store (lease expires ${new Date(current.expires_at).toISOString()})`,
      );
    }
    // Conditional on the row we read: two processes taking over at once cannot both win.
    const res = await q
      .updateTable('engine_leases')
      .set(row)
      .where('name', '=', NAME)
      .where('holder', '=', current.holder)
      .where('expires_at', '=', current.expires_at)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return this.acquire();
    this.#renewEvery();
  }

  #renewEvery(): void {
    this.#timer = setInterval(() => {
      this.#db.kysely
        .updateTable('engine_leases')
        .set({ expires_at: this.#now() + this.#ttlMs })
        .where('name', '=', NAME)
        .where('holder', '=', this.#holder)
        .execute()
        .catch(() => {
          // A missed renewal is retried at the next tick; the lease outlives several.
        });
    }, this.#ttlMs / 3);
    this.#timer.unref();
  }

  async release(): Promise<void> {
    clearInterval(this.#timer);
    await this.#db.kysely
      .deleteFrom('engine_leases')
      .where('name', '=', NAME)
      .where('holder', '=', this.#holder)
      .execute();
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
