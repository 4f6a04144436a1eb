/**
 * A small, elastic pool of task threads. Each thread runs many attempts at once (async tasks wait
 * on I/O together, as on the engine's loop); the pool starts threads lazily, keeps `min` of them
 * warm, grows up to `max` busy ones, and releases idle extras after `idleMs`. A thread that has not
 * beaten for `stallMs` while it has work is blocked: it gets no new attempts and does not count
 * against `max`, so a busy loop never holds back other tasks. Attempts sent to a blocked thread that
 * it never started move to another thread: each attempt has a shared start flag that the thread
 * and the pool claim with compare-and-swap, so an attempt starts exactly once. A thread is stopped
 * (`worker.terminate()`) when an attempt on it ignores its abort signal past the kill grace; the
 * attempts it had started fail with reason `crashed`, the others move.
 * @module
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { IdTable } from '../lib/id-table.ts';
import {
  CLAIM_MOVED,
  CLAIM_SLOTS,
  CLAIM_STARTED,
  claimSlot,
  type FromThread,
  type RunMessage,
  type ThreadResult,
  type ToThread,
} from './task-thread-protocol.ts';

export interface TaskThreadPoolOptions {
  /** Threads kept warm once the first starts (default: min(2, cores)). */
  min?: number;
  /** Busy, responsive threads the pool grows to (default: max(2, cores)). */
  max?: number;
  /** Threads above `min` idle this long are released (default 30 s). */
  idleMs?: number;
  /** A thread silent this long while running task code is blocked (default 500 ms). */
  stallMs?: number;
  /**
   * Threads of any kind (blocked ones included) never exceed this (default max + 2): on a starved
   * machine busy threads look blocked too, and each thread costs ~25 MB.
   */
  hardMax?: number;
}

/** One attempt, as the pool tracks it; the pool moves it between threads until it starts. */
export interface ThreadAttempt {
  readonly message: Omit<RunMessage, 'id'>;
  /** Called once with how the attempt ended; never for an attempt already given up. */
  settle(result: ThreadResult): void;
  onLog(line: string): void;
  onTrigger(dagId: string, params: Record<string, unknown> | undefined): Promise<unknown>;
  /** True once the engine has given up on it (aborted): its late result is dropped. */
  gaveUp: boolean;
  /** Where it is now. */
  thread?: TaskThread;
  id?: number;
}

export class TaskThread {
  readonly worker: Worker;
  readonly claims = new Int32Array(new SharedArrayBuffer(4 * CLAIM_SLOTS));
  /** By message id (not a `Map`: see `IdTable`). */
  readonly attempts = new IdTable<ThreadAttempt>();
  ready = false;
  condemned = false;
  lastHeard = Date.now();
  stopReason = 'its task thread exited';
  idleTimer: NodeJS.Timeout | undefined;
  readonly exited: Promise<void>;

  constructor() {
    this.worker = startWorker(this.claims);
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
  }

  /** Attempts the engine still waits for. */
  get live(): number {
    let n = 0;
    for (const a of this.attempts.values()) if (!a.gaveUp) n++;
    return n;
  }

  /**
   * Silent too long while running task code. A thread still loading a DAG's module (its first
   * attempt of that version) is not blocked by task code, so it does not count.
   */
  stalled(now: number, stallMs: number): boolean {
    if (!this.ready || now - this.lastHeard <= stallMs) return false;
    for (const id of this.attempts.keys())
      if (Atomics.load(this.claims, claimSlot(id)) === CLAIM_STARTED) return true;
    return false;
  }

  /** Messages wait until the thread listens: one posted before may be lost while it boots. */
  readonly #early: ToThread[] = [];

  post(m: ToThread): void {
    if (this.ready) this.worker.postMessage(m);
    else this.#early.push(m);
  }

  /** Takes back an attempt it has not started; false once it has. */
  unclaim(id: number): boolean {
    return Atomics.compareExchange(this.claims, claimSlot(id), 0, CLAIM_MOVED) === 0;
  }

  #stopping = false;

  /** Terminates the thread once, however often it is asked. */
  stop(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    void this.worker.terminate();
  }

  markReady(): void {
    this.ready = true;
    for (const m of this.#early.splice(0)) this.worker.postMessage(m);
  }
}

export class TaskThreadPool {
  readonly #threads = new Set<TaskThread>();
  readonly #min: number;
  readonly #max: number;
  readonly #hardMax: number;
  readonly #idleMs: number;
  readonly #stallMs: number;
  #nextId = 1;
  #sweep: NodeJS.Timeout | undefined;
  #closing = false;

  constructor(options: TaskThreadPoolOptions = {}) {
    const cores = availableParallelism();
    this.#min = options.min ?? Math.min(2, cores);
    this.#max = Math.max(1, options.max ?? Math.max(2, cores), this.#min);
    this.#hardMax = options.hardMax ?? this.#max + 2;
    this.#idleMs = options.idleMs ?? 30_000;
    this.#stallMs = options.stallMs ?? 500;
  }

  /** Threads alive now (blocked and condemned ones included). */
  get size(): number {
    return this.#threads.size;
  }

  /** Starts `min` threads now, so that the first attempts do not wait for them to boot. */
  warm(): void {
    while (this.#threads.size < this.#min) this.#spawn();
  }

  /** Sends the attempt to a responsive thread, starting one when all are busy or blocked. */
  dispatch(attempt: ThreadAttempt, moved = false): void {
    const thread = this.#pick(moved);
    const id = this.#nextId++;
    Atomics.store(thread.claims, claimSlot(id), 0);
    if (thread.attempts.size === 0) thread.lastHeard = Date.now();
    clearTimeout(thread.idleTimer);
    Object.assign(attempt, { thread, id });
    thread.attempts.set(id, attempt);
    // Field by field: on Node 20 a spread of the message made a dictionary-mode object per attempt,
    // which outlived the young generation with all it held.
    const m = attempt.message;
    thread.post({
      t: 'run',
      id,
      url: m.url,
      dagId: m.dagId,
      taskId: m.taskId,
      facts: m.facts,
      upstream: m.upstream,
    });
  }

  /** Tells the attempt's code that it is aborted (a blocked thread hears it when it frees up). */
  abort(attempt: ThreadAttempt, reason: string, message: string): void {
    if (attempt.thread && attempt.id !== undefined)
      attempt.thread.post({ t: 'abort', id: attempt.id, reason, message });
  }

  /** True while the attempt's code may still be running in some thread. */
  holds(attempt: ThreadAttempt): boolean {
    return attempt.thread?.attempts.get(attempt.id!) === attempt;
  }

  /**
   * Stops the attempt's thread as soon as that cannot hurt an innocent attempt: at once when it is
   * blocked (its other attempts cannot progress anyway), else when its other attempts have ended.
   */
  condemn(attempt: ThreadAttempt, reason: string): void {
    const thread = attempt.thread;
    if (!thread || thread.condemned) return;
    thread.condemned = true;
    thread.stopReason = reason;
    this.#reapIfDue(thread);
  }

  /** Terminates every thread; attempts still on them fail with reason `crashed`. The pool stays usable. */
  async close(): Promise<void> {
    const all = [...this.#threads];
    this.#closing = true;
    for (const t of all) {
      t.stopReason = 'the engine stopped';
      t.condemned = true;
      t.stop();
    }
    await Promise.all(all.map((t) => t.exited));
    this.#closing = false;
  }

  /** A moved attempt has waited already: it takes a running thread rather than wait for a new one. */
  #pick(moved: boolean): TaskThread {
    const now = Date.now();
    let best: TaskThread | undefined;
    let responsive = 0;
    for (const t of this.#threads) {
      if (t.condemned || t.stalled(now, this.#stallMs)) continue;
      responsive++;
      if (!best || t.attempts.size < best.attempts.size) best = t;
    }
    const room = this.#threads.size < this.#hardMax;
    // Keep `min` threads warm: a thread takes a while to start, an idle one takes work at once.
    if (best && (best.attempts.size === 0 || (moved && best.ready))) {
      if (responsive < this.#min && room) this.#spawn();
      return best;
    }
    if ((!best || responsive < this.#max) && room) {
      const thread = this.#spawn();
      for (let n = responsive + 1; n < this.#min && this.#threads.size < this.#hardMax; n++) this.#spawn();
      return thread;
    }
    if (best) return best;
    // Every thread is blocked and the hard cap is reached: queue behind the least loaded one.
    return [...this.#threads].reduce((a, b) => (b.attempts.size < a.attempts.size ? b : a));
  }

  #spawn(): TaskThread {
    const thread = new TaskThread();
    thread.worker.unref();
    this.#threads.add(thread);
    thread.worker.on('message', (m: FromThread) => this.#onMessage(thread, m));
    thread.worker.on('error', (e) => {
      thread.stopReason = `its task thread crashed: ${e.message}`;
    });
    thread.worker.once('exit', () => this.#onExit(thread));
    this.#sweep ??= setInterval(() => this.#moveStalled(), Math.max(10, this.#stallMs / 2));
    this.#sweep.unref();
    return thread;
  }

  #onExit(thread: TaskThread): void {
    this.#threads.delete(thread);
    clearTimeout(thread.idleTimer);
    const left = thread.attempts.entries();
    thread.attempts.clear();
    for (const [id, a] of left) {
      if (a.gaveUp) continue;
      if (!this.#closing && thread.unclaim(id)) this.dispatch(a, true);
      else a.settle({ state: 'failed', reason: 'crashed', error: thread.stopReason });
    }
    if (this.#threads.size === 0) {
      clearInterval(this.#sweep);
      this.#sweep = undefined;
    }
  }

  /** Moves attempts a blocked thread never started to a responsive one. */
  #moveStalled(): void {
    const now = Date.now();
    for (const thread of this.#threads) {
      if (!thread.stalled(now, this.#stallMs)) continue;
      for (const [id, a] of thread.attempts.entries()) {
        if (!thread.unclaim(id)) continue;
        thread.attempts.delete(id);
        if (!a.gaveUp) this.dispatch(a, true);
      }
      this.#reapIfDue(thread);
    }
  }

  #onMessage(thread: TaskThread, m: FromThread): void {
    thread.lastHeard = Date.now();
    switch (m.t) {
      case 'ready':
        thread.markReady();
        return;
      case 'beat':
        return;
      case 'log':
        thread.attempts.get(m.id)?.onLog(m.line);
        return;
      case 'trigger':
        this.#trigger(thread, m);
        return;
      case 'done': {
        const a = thread.attempts.get(m.id);
        thread.attempts.delete(m.id);
        if (a && !a.gaveUp) a.settle(m.result);
        this.#reapIfDue(thread);
        if (thread.attempts.size === 0 && !thread.condemned) this.#armIdle(thread);
        return;
      }
      default: {
        const never: never = m;
        throw new TypeError(`unknown task thread message ${JSON.stringify(never)}`);
      }
    }
  }

  #trigger(thread: TaskThread, m: Extract<FromThread, { t: 'trigger' }>): void {
    const a = thread.attempts.get(m.id);
    const reply = (r: { value?: unknown; error?: { code?: string; message: string } }) =>
      thread.post({ t: 'reply', id: m.id, call: m.call, ...r });
    if (!a || a.gaveUp) {
      reply({ error: { message: 'the attempt has already ended: it may not trigger runs' } });
      return;
    }
    a.onTrigger(m.dagId, m.params).then(
      (value) => reply({ value }),
      (e: Error & { code?: string }) =>
        reply({ error: { message: e.message, ...(typeof e.code === 'string' ? { code: e.code } : {}) } }),
    );
  }

  #reapIfDue(thread: TaskThread): void {
    if (thread.condemned && (thread.live === 0 || thread.stalled(Date.now(), this.#stallMs))) {
      thread.stop();
    }
  }

  #armIdle(thread: TaskThread): void {
    thread.idleTimer = setTimeout(() => {
      if (thread.attempts.size === 0 && this.#threads.size > this.#min) {
        thread.condemned = true;
        thread.stop();
      }
    }, this.#idleMs);
    thread.idleTimer.unref();
  }
}

/**
 * A small young generation: a thread's garbage is short-lived messages, and a default-sized one
 * (up to 48 MB per thread) made each thread cost twice as much memory for no speed.
 */
const LIMITS = { maxYoungGenerationSizeMb: 8 };

/**
 * Starts one thread. From the built package that is plain `task-thread.js`; from a clone run
 * through tsx (the CLI, tests), the thread registers tsx first, as `bin/airclutch.js` does.
 */
function startWorker(claims: Int32Array): Worker {
  const options = { resourceLimits: LIMITS, workerData: { claims } };
  if (!import.meta.url.endsWith('.ts'))
    return new Worker(new URL('./task-thread.js', import.meta.url), options);
  const entry = new URL('./task-thread.ts', import.meta.url).href;
  const api = createRequire(import.meta.url)
    .resolve('tsx/esm/api')
    .replace(/\.cjs$/, '.mjs');
  if (!existsSync(api)) throw new Error(`task threads from TypeScript sources need tsx (looked for ${api})`);
  const tsx = pathToFileURL(api).href;
  return new Worker(
    `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`,
    { ...options, eval: true },
  );
}
