/**
 * The engine lease: at most one in-process executor (`airclutch server`, `dev`, an embedded
 * engine) runs a store's runs, and never beside a fleet of workers. It is renewed while the engine
 * lives, and taken over when it expires, or at once when its holder was a process on this host that
 * is gone (after `kill -9`, the next start need not wait). Each acquisition gets a new fencing
 * token; a renewal that matches no row, or that cannot reach the store before the lease runs out,
 * means the lease is lost: `onLost` is called once, and the engine stops claiming.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { AirclutchError } from '../lib/errors.ts';
import type { Db } from '../store/create-db.ts';
import { isUniqueViolation } from '../store/is-unique-violation.ts';

const NAME = 'executor';
/** A fleet worker seen this recently is alive: its heartbeat is a third of its attempt lease. */
const WORKER_LIVE_MS = 60_000;

export interface EngineLeaseOptions {
  ttlMs?: number;
  clock?: () => number;
  /** Called once when the lease is lost (taken over, or not renewed in time). */
  onLost?: (error: AirclutchError) => void;
}

export class EngineLease {
  readonly #db: Db;
  readonly #holder: string;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #onLost: (error: AirclutchError) => void;
  #timer: NodeJS.Timeout | undefined;
  #token: string | undefined;
  #expiresAt = 0;
  #lost = false;

  constructor(db: Db, holder: string, options: EngineLeaseOptions = {}) {
    this.#db = db;
    this.#holder = holder;
    this.#ttlMs = options.ttlMs ?? 15_000;
    this.#now = options.clock ?? Date.now;
    this.#onLost = options.onLost ?? (() => {});
  }

  /** The fencing token of the current acquisition. */
  get token(): string | undefined {
    return this.#token;
  }

  /**
   * Takes the lease or throws `STATE_CONFLICT` naming the engine (or fleet worker) in the way.
   * Resolves with the previous holder when it took the lease over from a dead one, so recovery
   * knows whose attempts were interrupted.
   */
  async acquire(): Promise<{ previousHolder: string | null }> {
    const now = this.#now();
    const q = this.#db.kysely;
    const worker = await q
      .selectFrom('workers')
      .select(['id', 'host', 'pid'])
      .where('last_seen_at', '>', now - WORKER_LIVE_MS)
      .executeTakeFirst();
    if (worker) {
      throw new AirclutchError(
        'STATE_CONFLICT',
        `fleet worker ${worker.id} (pid ${worker.pid} on ${worker.host}) runs this store's tasks; an in-process engine would race it: run \`airclutch server --no-worker\` beside workers, or stop the workers`,
      );
    }
    this.#token = randomUUID();
    const row = {
      name: NAME,
      holder: this.#holder,
      host: hostname(),
      pid: process.pid,
      expires_at: now + this.#ttlMs,
      token: this.#token,
    };
    const current = await q
      .selectFrom('engine_leases')
      .selectAll()
      .where('name', '=', NAME)
      .executeTakeFirst();
    if (!current) {
      try {
        await q.insertInto('engine_leases').values(row).execute();
        this.#renewEvery(row.expires_at);
        return { previousHolder: null };
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
    this.#renewEvery(row.expires_at);
    return { previousHolder: current.holder === this.#holder ? null : current.holder };
  }

  #renewEvery(expiresAt: number): void {
    this.#expiresAt = expiresAt;
    this.#lost = false;
    this.#timer = setInterval(() => {
      this.renew().catch((e) => {
        // A failed renewal is retried at the next tick while the lease lasts; after that it is lost.
        if (this.#now() >= this.#expiresAt)
          this.#lose(
            `the engine could not renew its lease before it expired (${(e as Error).message}); it stopped claiming tasks`,
          );
      });
    }, this.#ttlMs / 3);
    this.#timer.unref();
  }

  /** Renews now; a renewal that matches no row (another engine took over) loses the lease. */
  async renew(): Promise<void> {
    if (this.#lost || !this.#token) return;
    const expires = this.#now() + this.#ttlMs;
    const res = await this.#db.kysely
      .updateTable('engine_leases')
      .set({ expires_at: expires })
      .where('name', '=', NAME)
      .where('holder', '=', this.#holder)
      .where('token', '=', this.#token)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 1) {
      this.#expiresAt = expires;
      return;
    }
    this.#lose(
      'another engine took over this store (the lease row has another holder or token); this engine stopped claiming tasks',
    );
  }

  #lose(message: string): void {
    if (this.#lost) return;
    this.#lost = true;
    clearInterval(this.#timer);
    this.#onLost(new AirclutchError('STATE_CONFLICT', message));
  }

  async release(): Promise<void> {
    clearInterval(this.#timer);
    if (!this.#token) return;
    await this.#db.kysely
      .deleteFrom('engine_leases')
      .where('name', '=', NAME)
      .where('holder', '=', this.#holder)
      .where('token', '=', this.#token)
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
