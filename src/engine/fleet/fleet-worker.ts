/**
 * A fleet worker: claims ready task instances of any run from shared PostgreSQL, runs them, and
 * completes them, in cycles like the in-process executor (each cycle one transaction: completions,
 * runs started, claims, logs, audit records). It wakes on LISTEN/NOTIFY and polls as a fallback.
 * Each attempt it runs has a lease it renews with one UPDATE per heartbeat; a completion presents
 * the attempt's fencing token, so a worker that lost the lease cannot complete it.
 * @module
 */
import { hostname } from 'node:os';
import { sql, type Transaction } from 'kysely';
import { IdTable } from '../../lib/id-table.ts';
import type { Db } from '../../store/create-db.ts';
import type { Database } from '../../store/database.ts';
import type { AttemptAbortController } from '../attempt-abort-controller.ts';
import { claimTransition } from '../claim-transition.ts';
import type { DagSource, EngineHooks, EngineTransition, RunSubmitter } from '../engine-types.ts';
import { runAttempt } from '../run-attempt.ts';
import { insertLogs, type LogLine } from '../sql/insert-logs.ts';
import { FINAL_RUN_STATES } from '../states.ts';
import { AttemptAbort, type TaskRunner } from '../task-runner.ts';
import { loadAttemptContexts } from './attempt-context.ts';
import { claimReady, type FleetClaim } from './claim-ready.ts';
import { completeFleetAttempts, type FleetCompletion } from './complete-fleet-attempts.ts';
import { findExpiredAttempts } from './find-expired-attempts.ts';
import type { FleetMetrics } from './fleet-metrics.ts';
import { listenForWork, type WorkListener, workChannel } from './listen-for-work.ts';
import { startQueuedRuns } from './start-queued-runs.ts';
import { WorkerHeartbeat } from './worker-heartbeat.ts';

export interface FleetWorkerOptions {
  readonly db: Db;
  /** The store's connection string, for the LISTEN connection. */
  readonly url: string;
  readonly dags: DagSource;
  readonly hooks: EngineHooks;
  readonly runners: { readonly function: TaskRunner; readonly shell: TaskRunner };
  readonly submitter: () => RunSubmitter;
  readonly workerId?: string;
  readonly concurrency: number;
  readonly queues: readonly string[];
  readonly queueLimits: ReadonlyMap<string, number>;
  readonly leaseMs: number;
  readonly pollMs?: number;
  readonly defaultMaxActiveRuns: number;
  readonly isExternal?: (run: { env: string; dag_id: string }) => boolean;
  /** Records refused completions (fencing) in the cycle's transaction: the audit trail. */
  readonly recordRefusals: (
    trx: Transaction<Database>,
    refused: readonly RefusedCompletion[],
  ) => Promise<void>;
  readonly metrics?: FleetMetrics;
  readonly now?: () => number;
  readonly onTransition?: (t: EngineTransition) => void;
  readonly onError: (e: Error) => void;
}

export type RefusedCompletion = FleetCompletion & { env: string; dagId: string };

interface Running {
  readonly claim: FleetClaim;
  readonly controller: AttemptAbortController;
  handBack: boolean;
}

const RETRYABLE = new Set(['40001', '40P01']);

export class FleetWorker {
  readonly workerId: string;
  readonly #o: FleetWorkerOptions;
  readonly #now: () => number;
  /** By attempt id (not a `Map`: see `IdTable`). */
  readonly #running = new IdTable<Running>();
  #completions: FleetCompletion[] = [];
  #logs: LogLine[] = [];
  #listener: WorkListener | undefined;
  #heartbeat: WorkerHeartbeat | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  /** Wakes this worker when the earliest retry it put off is due (other workers find it by polling). */
  #retryTimer: { at: number; timer: NodeJS.Timeout } | undefined;
  #logTimer: NodeJS.Timeout | undefined;
  #tick = true;
  /** Ready tasks may wait for this worker (it was told, or has not looked since it was full). */
  #mayClaim = true;
  #channel = '';
  #wantRuns = true;
  #started = false;
  #stopping = false;
  #cycleRunning = false;
  #cycleAgain = false;
  #failures = 0;
  readonly #idle = new Set<() => void>();

  constructor(options: FleetWorkerOptions) {
    if (options.db.dialect !== 'postgres') {
      throw new TypeError(
        'a fleet worker needs PostgreSQL (databaseUrl: postgres://…); with SQLite, `airclutch server` or `airclutch dev` runs tasks in process',
      );
    }
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.workerId =
      options.workerId ?? `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 10)}`;
  }

  get runningCount(): number {
    return this.#running.size;
  }

  async start(): Promise<void> {
    const o = this.#o;
    this.#heartbeat = new WorkerHeartbeat({
      db: o.db,
      workerId: this.workerId,
      queues: o.queues,
      concurrency: o.concurrency,
      leaseMs: o.leaseMs,
      now: this.#now,
      running: () => this.#running.keys(),
      draining: () => this.#stopping,
      onLost: (ids) => this.#lost(ids),
      onMissed: (n) => o.metrics?.heartbeatsMissed.inc(n),
      onError: o.onError,
    });
    await this.#heartbeat.start();
    const { rows } = await sql<{ s: string }>`select current_schema() as s`.execute(o.db.kysely);
    const schema = rows[0]?.s ?? 'public';
    this.#channel = workChannel(schema);
    this.#listener = await listenForWork(
      o.url,
      schema,
      (table) => {
        if (table === 'task_instances' || table === 'listen') this.#mayClaim = true;
        if (table === 'runs' || table === 'listen') {
          this.#wantRuns = true;
          this.#stopCancelled();
        }
        this.#kick();
      },
      o.onError,
    );
    this.#started = true;
    this.#pollTimer = setInterval(() => {
      this.#tick = true;
      this.#wantRuns = true;
      this.#stopCancelled();
      this.#kick();
    }, o.pollMs ?? 1_000);
    this.#kick();
  }

  /**
   * Draining: stops claiming, waits for running attempts up to `graceMs`, then hands the rest back
   * (failed with reason `shutdown`, their task queued again without using up a try), and leaves.
   */
  async drain(graceMs: number): Promise<void> {
    if (!this.#started || this.#stopping) return;
    this.#stopping = true;
    clearInterval(this.#pollTimer);
    clearTimeout(this.#retryTimer?.timer);
    await this.#heartbeat?.beat();
    if (this.#running.size) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((r) => this.#idle.add(r)),
        new Promise<void>((r) => {
          timer = setTimeout(r, graceMs);
        }),
      ]);
      clearTimeout(timer);
      for (const r of this.#running.values()) {
        r.handBack = true;
        r.controller.abort(
          new AttemptAbort(
            'shutdown',
            `the worker drained before the attempt finished (grace ${graceMs} ms)`,
          ),
        );
      }
      if (this.#running.size) await new Promise<void>((r) => this.#idle.add(r));
    }
    while (this.#cycleRunning || this.#completions.length || this.#logs.length) {
      if (!this.#cycleRunning) this.#kick();
      await new Promise((r) => setTimeout(r, 5));
    }
    clearTimeout(this.#logTimer);
    await this.#listener?.close();
    await this.#heartbeat?.stop();
    this.#started = false;
  }

  #kick(): void {
    if (!this.#started && !this.#stopping) return;
    if (this.#cycleRunning) {
      this.#cycleAgain = true;
      return;
    }
    this.#cycleRunning = true;
    setImmediate(() => this.#runCycles());
  }

  async #runCycles(): Promise<void> {
    try {
      do {
        this.#cycleAgain = false;
        await this.#cycle();
        this.#failures = 0;
      } while (this.#cycleAgain);
    } catch (e) {
      this.#failures++;
      const code = (e as { code?: string }).code;
      if (!code || !RETRYABLE.has(code)) this.#o.onError(e as Error);
      this.#cycleRunning = false;
      setTimeout(() => this.#kick(), Math.min(1_000, 10 * 2 ** this.#failures));
      return;
    }
    this.#cycleRunning = false;
    if (this.#cycleAgain) this.#kick();
    if (this.#running.size === 0) for (const w of this.#idle) w();
    if (this.#running.size === 0) this.#idle.clear();
  }

  async #cycle(): Promise<void> {
    const o = this.#o;
    const completions = this.#completions.splice(0);
    const logs = this.#logs.splice(0);
    const tick = this.#tick;
    const wantRuns = this.#wantRuns && !this.#stopping;
    const capacity = this.#stopping ? 0 : o.concurrency - this.#running.size;
    const mayClaim = this.#mayClaim || tick;
    this.#tick = false;
    this.#wantRuns = false;
    if (!completions.length && !logs.length && !tick && !wantRuns && (capacity <= 0 || !mayClaim)) return;
    // A notification during the cycle sets it again; the cycle's own outcome is merged at the end.
    this.#mayClaim = false;
    let stillMayClaim = mayClaim;
    const now = this.#now();
    const claims: FleetClaim[] = [];
    let reclaimed = 0;
    const transitions: EngineTransition[] = [];
    let nextRetryAt: number | null = null;
    try {
      await o.db.kysely.transaction().execute(async (trx) => {
        const expired = tick ? await findExpiredAttempts(trx, this.workerId, now) : [];
        reclaimed = expired.length;
        const done = await completeFleetAttempts(trx, o.dags, [...completions, ...expired], now);
        transitions.push(...done.transitions);
        nextRetryAt = done.nextRetryAt;
        if (wantRuns || done.freedDags.length) {
          const started = await startQueuedRuns(trx, {
            dags: o.dags,
            defaultMaxActiveRuns: o.defaultMaxActiveRuns,
            isExternal: o.isExternal ?? (() => false),
            now,
            claim: {
              workerId: this.workerId,
              queues: o.queues.filter((q) => !o.queueLimits.has(q)),
              capacity,
              leaseMs: o.leaseMs,
            },
          });
          transitions.push(...started.transitions);
          claims.push(...started.claims);
        }
        let promoted = 0;
        if (tick) {
          const res = await trx
            .updateTable('task_instances')
            .set({ state: 'queued', updated_at: now })
            .where('state', '=', 'up_for_retry')
            .where('next_try_at', '<=', now)
            .executeTakeFirst();
          promoted = Number(res.numUpdatedRows);
        }
        const readied = promoted + transitions.filter((t) => t.kind === 'task' && t.to === 'queued').length;
        // Ready tasks wait only where someone was told of them: whoever readies a task claims it or
        // notifies (below), so without a notification, a poll tick, a completion here (a freed slot
        // of a limited queue) or tasks readied here beyond those claimed, there is nothing to claim.
        const room = capacity - claims.length;
        if (room > 0 && (mayClaim || done.transitions.length || readied > claims.length)) {
          const more = await claimReady(trx, {
            workerId: this.workerId,
            queues: o.queues,
            limits: o.queueLimits,
            capacity: room,
            now,
            leaseMs: o.leaseMs,
          });
          claims.push(...more);
          // A claim that found less than it had room for saw every ready task it could take.
          stillMayClaim = more.length >= room;
        }
        // Tasks made ready here that this worker did not claim (no room, another queue): wake the others.
        if (readied > claims.length)
          await sql`select pg_notify(${this.#channel}, 'task_instances')`.execute(trx);
        for (const c of claims) {
          transitions.push(claimTransition(c, c.taskId, c.tryNumber));
        }
        if (logs.length) await insertLogs(trx, logs);
        if (done.refused.length) await o.recordRefusals(trx, done.refused);
        // Last: the audit head's lock is held from here to the commit, and no longer.
        if (transitions.length) await o.hooks.onTransitions?.(trx, transitions, { last: true });
      });
    } catch (e) {
      this.#completions.unshift(...completions);
      this.#logs.unshift(...logs);
      this.#tick ||= tick;
      this.#wantRuns ||= wantRuns;
      this.#mayClaim ||= mayClaim;
      throw e;
    }
    this.#mayClaim ||= stillMayClaim;
    if (nextRetryAt !== null) this.#wakeAt(nextRetryAt);
    if (reclaimed) o.metrics?.leaseExpiries.inc({ kind: 'reclaimed' }, reclaimed);
    for (const c of claims)
      o.metrics?.claimLatency.observe({ queue: c.queue }, Math.max(0, now - c.queuedAt) / 1_000);
    for (const t of transitions) o.onTransition?.(t);
    if (claims.length) await this.#launchAll(claims);
    if (claims.length && claims.length >= capacity) this.#cycleAgain = true;
  }

  #wakeAt(at: number): void {
    if (this.#stopping || (this.#retryTimer && this.#retryTimer.at <= at)) return;
    clearTimeout(this.#retryTimer?.timer);
    const timer = setTimeout(
      () => {
        this.#retryTimer = undefined;
        this.#tick = true;
        this.#kick();
      },
      Math.max(0, at - this.#now()),
    );
    timer.unref();
    this.#retryTimer = { at, timer };
  }

  async #launchAll(claims: readonly FleetClaim[]): Promise<void> {
    const contexts = await loadAttemptContexts(this.#o.db.kysely, this.#o.dags, claims).catch((e) => {
      this.#o.onError(e as Error);
      return [];
    });
    for (const ctx of contexts) {
      const { claim } = ctx;
      if ('refusal' in ctx) {
        // Another version of the DAG than this worker loads (a rolling deploy): the attempt fails and
        // retries by the task's policy, perhaps on a worker that has the decided version.
        this.#complete(claim, false, {
          state: 'failed',
          reason: 'error',
          error: `${ctx.refusal.code}: ${ctx.refusal.message}`,
        });
        continue;
      }
      const { controller, done } = runAttempt(
        {
          tracker: ctx.tracker,
          taskId: claim.taskId,
          tryNumber: claim.tryNumber,
          attemptId: claim.attemptId,
        },
        {
          runners: this.#o.runners,
          submitter: this.#o.submitter,
          log: (stream, line) => this.#log(claim, stream, line),
        },
      );
      const running: Running = { claim, controller, handBack: false };
      this.#running.set(claim.attemptId, running);
      this.#o.metrics?.running.set(this.#running.size);
      done.then((result) => {
        this.#running.delete(claim.attemptId);
        this.#o.metrics?.running.set(this.#running.size);
        this.#complete(claim, running.handBack, result);
      });
    }
  }

  #complete(claim: FleetClaim, handBack: boolean, result: FleetCompletion['result']): void {
    this.#completions.push({
      attemptId: claim.attemptId,
      leaseToken: claim.leaseToken,
      runId: claim.runId,
      taskId: claim.taskId,
      tryNumber: claim.tryNumber,
      maxTries: claim.maxTries,
      workerId: this.workerId,
      result,
      handBack,
    });
    this.#kick();
  }

  /** Aborts the attempts of runs that ended elsewhere (cancelled through the gate). */
  #stopCancelled(): void {
    const runIds = [...new Set(this.#running.values().map((r) => r.claim.runId))];
    if (!runIds.length) return;
    this.#o.db.kysely
      .selectFrom('runs')
      .select('id')
      .where('id', 'in', runIds)
      .where('state', 'in', FINAL_RUN_STATES)
      .execute()
      .then((ended) => {
        const ids = new Set(ended.map((r) => r.id));
        for (const r of this.#running.values())
          if (ids.has(r.claim.runId))
            r.controller.abort(new AttemptAbort('cancelled', 'the run was cancelled'));
      }, this.#o.onError);
  }

  /** Attempts whose lease another process took: stop them (their completion will be refused). */
  #lost(ids: readonly number[]): void {
    for (const id of ids) {
      const r = this.#running.get(id);
      if (!r) continue;
      this.#o.metrics?.leaseExpiries.inc({ kind: 'lost' });
      r.controller.abort(
        new AttemptAbort('cancelled', 'this worker lost the attempt lease (another worker reclaimed it)'),
      );
    }
  }

  #log(claim: FleetClaim, stream: string, line: string): void {
    this.#logs.push({
      attempt_id: claim.attemptId,
      run_id: claim.runId,
      task_id: claim.taskId,
      ts: this.#now(),
      stream,
      line,
    });
    if (!this.#logTimer) {
      this.#logTimer = setTimeout(() => {
        this.#logTimer = undefined;
        if (this.#logs.length) this.#kick();
      }, 200);
    }
  }
}
