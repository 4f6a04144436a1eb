/**
 * Group commit for independent writes. Jobs that arrive while a commit is in flight share the next
 * transaction, so N concurrent triggers cost one fsync instead of N. Each job runs in its own
 * savepoint: a job that throws is rolled back alone and rejects alone; the others commit. A job's
 * promise settles only after the transaction holding it committed (or failed).
 * @module
 */
import { CompiledQuery, type Transaction } from 'kysely';
import type { Db } from './create-db.ts';
import type { Database } from './database.ts';

/** A job's savepoint statements by position in a batch, as text (kysely's `sql` would rebuild them per job). */
const savepoints: Array<{ open: string; release: string; rollback: string }> = [];
function savepoint(i: number) {
  let s = savepoints[i];
  if (!s) {
    const name = `airclutch_job_${i}`;
    s = {
      open: `savepoint ${name}`,
      release: `release savepoint ${name}`,
      rollback: `rollback to savepoint ${name}`,
    };
    savepoints[i] = s;
  }
  return s;
}

interface Job {
  run: (trx: Transaction<Database>) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (e: unknown) => void;
}

export class WriteBatcher {
  readonly #db: Db;
  readonly #maxBatch: number;
  #queue: Job[] = [];
  #draining = false;

  constructor(db: Db, options: { maxBatch?: number } = {}) {
    this.#db = db;
    this.#maxBatch = options.maxBatch ?? 256;
  }

  /**
   * @example
   * const run = await writes.run(async (trx) => { await insertRun(trx, row); await audit.append(events, { trx }); return row; });
   */
  run<T>(job: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ run: job, resolve: resolve as (v: unknown) => void, reject });
      if (!this.#draining) {
        this.#draining = true;
        // After the I/O phase, not in a microtask: requests read in the same turn of the event loop
        // get to join the batch before it commits (better-sqlite3 commits synchronously).
        setImmediate(() => this.#drain());
      }
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      if (batch.length === 1) {
        // Alone: no savepoint needed, the transaction is the job's own.
        const [job] = batch;
        await this.#db.kysely.transaction().execute(job!.run).then(job!.resolve, job!.reject);
        continue;
      }
      const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
      try {
        await this.#db.kysely.transaction().execute(async (trx) => {
          for (let i = 0; i < batch.length; i++) {
            const sp = savepoint(i);
            await trx.executeQuery(CompiledQuery.raw(sp.open));
            try {
              outcomes.push({ ok: true, value: await batch[i]!.run(trx) });
              await trx.executeQuery(CompiledQuery.raw(sp.release));
            } catch (error) {
              await trx.executeQuery(CompiledQuery.raw(sp.rollback));
              await trx.executeQuery(CompiledQuery.raw(sp.release));
              outcomes.push({ ok: false, error });
            }
          }
        });
      } catch (error) {
        for (const job of batch) job.reject(error);
        continue;
      }
      batch.forEach((job, i) => {
        const o = outcomes[i]!;
        if (o.ok) job.resolve(o.value);
        else job.reject(o.error);
      });
    }
    this.#draining = false;
  }
}
