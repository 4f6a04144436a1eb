/**
 * Moves SQLite's WAL checkpoints off the commit path. By default the connection that commits the
 * 1,000th WAL page copies the WAL into the database file and fsyncs it, inside that commit: on this
 * kind of disk one trigger in ~75 then waits several milliseconds, which is the whole p99 of a durable
 * trigger. Here the main connection's automatic checkpoint is only a safety net (at 16k pages, ~64 MB),
 * and a worker thread with its own connection runs `PRAGMA wal_checkpoint(PASSIVE)` every
 * `intervalMs`: a passive checkpoint never blocks writers or readers, so commits keep their one fsync.
 * Durability is unchanged: a commit is durable once its WAL frames are fsynced (`synchronous=FULL`),
 * whoever copies them into the database file later.
 * @module
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** The main connection checkpoints by itself only if the background one falls this far behind. */
export const SAFETY_NET_PAGES = 16_000;

// CommonJS, evaluated in the worker: the path of better-sqlite3 comes in `workerData`, so it resolves
// wherever Airclutch is installed.
const WORKER_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 0');
let failures = 0;
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    failures = 0;
  } catch (e) {
    // SQLITE_BUSY while another checkpoint runs: the next tick tries again.
    if (++failures === 50) parentPort.postMessage({ error: String(e && e.message || e) });
  }
}, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
  db.close();
  parentPort.postMessage({ stopped: true });
});
`;

export interface WalCheckpointerOptions {
  readonly file: string;
  readonly intervalMs?: number;
  /** Called once if checkpoints keep failing (the safety net then takes over). */
  readonly onError?: (message: string) => void;
}

/** A background checkpointing thread for one SQLite file in WAL mode. */
export class WalCheckpointer {
  readonly #worker: Worker;
  #stopped: Promise<void> | undefined;

  constructor(options: WalCheckpointerOptions) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.#worker = new Worker(WORKER_CODE, {
      eval: true,
      workerData: { file: options.file, driver, intervalMs: options.intervalMs ?? 250 },
    });
    // The thread must never keep a finished process alive.
    this.#worker.unref();
    this.#worker.on('message', (m: { error?: string }) => {
      if (m.error) options.onError?.(m.error);
    });
    this.#worker.on('error', (e) => options.onError?.(e.message));
  }

  /** Runs a last checkpoint and ends the thread. */
  stop(): Promise<void> {
    this.#stopped ??= new Promise<void>((resolve) => {
      const done = () => resolve();
      this.#worker.once('exit', done);
      this.#worker.on('message', (m: { stopped?: boolean }) => {
        if (m.stopped) void this.#worker.terminate().then(done, done);
      });
      this.#worker.postMessage('stop');
      // A thread that already died answers nothing.
      setTimeout(() => void this.#worker.terminate().then(done, done), 2_000).unref();
    });
    return this.#stopped;
  }
}
