/**
 * The engine: the front of what runs. It validates run requests for the gate, cancels runs in the
 * gate's transaction, recovers what a crashed process left behind, picks up runs other processes
 * queued, and reports every transition as events. The claim-run-complete loop itself is the
 * `LocalExecutor`.
 *
 * The engine never creates a run: the gate does, with its decision record in the same transaction,
 * and the executor refuses to start a run without one (`RUN_UNDECIDED`). It is internal: embedders
 * get the gate through `airclutch/embed`.
 *
 * @example
 * const engine = new Engine({ db, dags: registry, hooks });
 * const gate = new Gate({ db, engine, dags: registry, policy, audit, config });
 * engine.setSubmitter(gate.submitter());
 * await engine.start();
 * const { run } = await gate.trigger(ctx, { dagId: 'nightly_revenue' });
 * await engine.waitForRun(run.id);
 * await engine.stop();
 * @module
 */
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type { Transaction } from 'kysely';
import { newId } from '../lib/ids.ts';
import { paramsHash } from '../lib/params-hash.ts';
import type { Db } from '../store/create-db.ts';
import type { Database, RunsTable } from '../store/database.ts';
import { EngineLease } from './engine-lease.ts';
import type { DagSource, EngineHooks, EngineTransition, RunRequest, RunSubmitter } from './engine-types.ts';
import { LocalExecutor } from './local-executor.ts';
import { ShellTaskRunner } from './shell-task-runner.ts';
import { type CancelledRun, cancelRun } from './sql/cancel-run.ts';
import { DEFAULT_ATTEMPT_LEASE_MS } from './sql/claim-tasks.ts';
import type { NewRun } from './sql/insert-run.ts';
import { failInterruptedAttempts } from './sql/recover-interrupted.ts';
import { renewLeases } from './sql/renew-leases.ts';
import { FINAL_RUN_STATES, type RunState, type TaskState } from './states.ts';
import type { TaskRunner } from './task-runner.ts';
import { hasTaskModule, ThreadTaskRunner } from './thread-task-runner.ts';

export interface EngineOptions {
  db: Db;
  dags: DagSource;
  /** Attempts running at once in this process (default 32). */
  concurrency?: number;
  /** How long `stop()` waits for running attempts before aborting them (default 30 s). */
  shutdownGraceMs?: number;
  defaultMaxActiveRuns?: number;
  /** How often the store is polled for runs created or cancelled by other processes (default 500 ms). */
  pollIntervalMs?: number;
  workerId?: string;
  hooks?: EngineHooks;
  runners?: { function?: TaskRunner; shell?: TaskRunner };
  clock?: () => number;
  /**
   * True for runs another executor owns (the Airflow bridge): the local executor never starts,
   * resumes or recovers them. The gate creates their rows and decision records as for any run.
   */
  isExternal?: (run: { env: string; dag_id: string }) => boolean;
}

/** Until the gate is set, the engine's own requests (schedules, `ctx.trigger()`) are refused: nothing starts a run without a decision. */
const NO_GATE: RunSubmitter = {
  submit: async (req) => {
    throw new TypeError(
      `the engine has no gate to submit ${req.env}/${req.dagId} through: build Airclutch with createAirclutch() or call engine.setSubmitter(gate.submitter())`,
    );
  },
};

export interface EngineEvents {
  run: [{ runId: string; env: string; dagId: string; state: RunState; error?: string | null }];
  task: [{ runId: string; taskId: string; state: TaskState; tryNumber?: number; error?: string | null }];
  error: [Error];
}

export class Engine extends EventEmitter<EngineEvents> {
  readonly workerId: string;
  readonly #db: Db;
  readonly #dags: DagSource;
  readonly #graceMs: number;
  readonly #pollMs: number;
  readonly #hooks: EngineHooks;
  readonly #now: () => number;
  readonly #executor: LocalExecutor;
  readonly #lease: EngineLease;
  readonly #isExternal: (run: { env: string; dag_id: string }) => boolean;
  readonly #runners: { readonly function: TaskRunner; readonly shell: TaskRunner };
  #submitter: RunSubmitter;
  #started = false;
  #stopping = false;
  #pollTimer: NodeJS.Timeout | undefined;
  #leaseTimer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;

  constructor(options: EngineOptions) {
    super();
    this.#db = options.db;
    this.#dags = options.dags;
    this.#graceMs = options.shutdownGraceMs ?? 30_000;
    this.#pollMs = options.pollIntervalMs ?? 500;
    this.#hooks = options.hooks ?? {};
    this.#now = options.clock ?? Date.now;
    this.#isExternal = options.isExternal ?? (() => false);
    this.workerId = options.workerId ?? `${hostname()}:${process.pid}:${newId()}`;
    this.#submitter = NO_GATE;
    this.#lease = new EngineLease(options.db, this.workerId, {
      // Another engine may recover our attempts now: stop claiming, and say so.
      onLost: (e) => {
        this.emit('error', e);
        void this.stop(0);
      },
    });
    this.#runners = {
      function: options.runners?.function ?? new ThreadTaskRunner(),
      shell: options.runners?.shell ?? new ShellTaskRunner(),
    };
    this.#executor = new LocalExecutor({
      db: options.db,
      dags: options.dags,
      concurrency: options.concurrency ?? 32,
      defaultMaxActiveRuns: options.defaultMaxActiveRuns ?? 16,
      hooks: this.#hooks,
      runners: this.#runners,
      submitter: () => this.#submitter,
      workerId: this.workerId,
      now: this.#now,
      onTransition: (t) => this.#emitTransition(t),
      onError: (e) => this.emit('error', e),
    });
  }

  /** Routes the engine's own run requests (scheduler, DAG-to-DAG) through another submitter: the gate. */
  setSubmitter(submitter: RunSubmitter): void {
    this.#submitter = submitter;
  }

  get submitter(): RunSubmitter {
    return this.#submitter;
  }

  /** Recovers what a previous process left running, then starts working. */
  async start(): Promise<void> {
    if (this.#started) throw new TypeError('engine already started');
    const { previousHolder } = await this.#lease.acquire();
    this.#started = true;
    // Task threads boot while the engine recovers, when some DAG came from a file (runs in them).
    if (this.#dags.list().some((d) => hasTaskModule(d.dag))) this.#runners.function.warm?.();
    await this.#recover(previousHolder);
    this.#executor.start();
    // Attempt leases, renewed in one UPDATE: what crash recovery and a later fleet read as alive.
    this.#leaseTimer = setInterval(() => {
      renewLeases(this.#db.kysely, this.workerId, this.#now(), DEFAULT_ATTEMPT_LEASE_MS).catch((e) => {
        if (!this.#stopping) this.emit('error', e as Error);
      });
    }, DEFAULT_ATTEMPT_LEASE_MS / 3);
    this.#leaseTimer.unref();
    await this.#poll();
    this.#pollTimer = setInterval(() => {
      if (this.#polling) return;
      this.#polling = this.#poll()
        .catch((e) => {
          if (!this.#stopping) this.emit('error', e as Error);
        })
        .finally(() => {
          this.#polling = undefined;
        });
    }, this.#pollMs);
  }

  /**
   * Validates the params and builds the run row, without writing: the gate calls this first, so a
   * bad request is refused before a run exists, then inserts the row in its own transaction.
   */
  async prepareRun(request: RunRequest, state: 'queued' | 'awaiting_approval' = 'queued'): Promise<NewRun> {
    const found = this.#dags.get(request.env, request.dagId);
    const params = await found.dag.parseParams(request.params);
    return {
      id: newId(),
      env: request.env,
      dag_id: request.dagId,
      dag_version: found.version,
      state,
      params: JSON.stringify(params),
      params_hash: paramsHash(params),
      logical_date: request.logicalDate ?? null,
      schedule_key: request.scheduleKey ?? null,
      source: request.source,
      requested_by_kind: request.principal.kind,
      requested_by: request.principal.id,
      note: request.note ?? null,
      break_glass: 0,
      created_at: this.#now(),
      started_at: null,
      ended_at: null,
      error: null,
      decision_seq: null,
    };
  }

  /** Tells the engine that a run was queued (or approved) in this process, so it starts at once. */
  notify(run?: Pick<RunsTable, 'id' | 'env' | 'dag_id'>): void {
    if (run && this.#isExternal(run)) this.#wakeExternal?.(run);
    else if (run && this.#started) this.#executor.enqueueRuns([run]);
  }

  /**
   * What `notify` calls for a run another executor delivers (the Airflow bridge): deliver it at once.
   * It gets the run as the gate handed it (the whole row, when the gate has it in hand).
   */
  setExternalWaker(wake: (run: Pick<RunsTable, 'id' | 'env' | 'dag_id'>) => void): void {
    this.#wakeExternal = wake;
  }

  #wakeExternal: ((run: Pick<RunsTable, 'id' | 'env' | 'dag_id'>) => void) | undefined;

  /** Reports transitions another executor made (after their transaction committed), as engine events. */
  reportTransitions(transitions: readonly EngineTransition[]): void {
    for (const t of transitions) this.#emitTransition(t);
  }

  /**
   * Cancels a run in the caller's transaction (the gate's, with its decision record): the run and its
   * unstarted tasks become `cancelled` and their records are appended through the hooks. Returns null
   * when the run had already ended. Call `cancelled()` after the transaction commits.
   */
  async cancelRun(trx: Transaction<Database>, runId: string, reason: string): Promise<CancelledRun | null> {
    const done = await cancelRun(trx, runId, reason, this.#now());
    if (done) await this.#hooks.onTransitions?.(trx, done.transitions);
    return done;
  }

  /** After a cancel committed: running attempts are aborted and the transitions are emitted. */
  cancelled(done: CancelledRun): void {
    // Without an in-process executor (`server --no-worker`), fleet workers notice the cancellation.
    if (this.#started) this.#executor.runsEnded([done.run.id]);
    for (const t of done.transitions) this.#emitTransition(t);
  }

  /** Resolves when the run reaches a final state. */
  waitForRun(runId: string): Promise<RunState> {
    return new Promise((resolve, reject) => {
      const onRun = (e: EngineEvents['run'][0]) => {
        if (
          e.runId === runId &&
          ['success', 'failed', 'cancelled', 'rejected', 'expired'].includes(e.state)
        ) {
          this.off('run', onRun);
          resolve(e.state);
        }
      };
      this.on('run', onRun);
      this.#db.kysely
        .selectFrom('runs')
        .select('state')
        .where('id', '=', runId)
        .executeTakeFirst()
        .then((r) => {
          if (r && ['success', 'failed', 'cancelled', 'rejected', 'expired'].includes(r.state)) {
            this.off('run', onRun);
            resolve(r.state);
          }
        }, reject);
    });
  }

  /** Attempts running now. */
  get runningCount(): number {
    return this.#executor.runningCount;
  }

  /**
   * Stops claiming, lets running attempts finish within the grace period, then aborts the rest
   * (they fail with reason `shutdown` and are retried by the usual rule on the next start).
   */
  async stop(graceMs = this.#graceMs): Promise<void> {
    if (!this.#started || this.#stopping) return;
    this.#stopping = true;
    clearInterval(this.#pollTimer);
    clearInterval(this.#leaseTimer);
    await this.#polling;
    await this.#executor.stop(graceMs);
    await Promise.all([this.#runners.function.close?.(), this.#runners.shell.close?.()]);
    await this.#lease.release();
    this.#started = false;
  }

  #emitTransition(t: EngineTransition): void {
    if (t.kind === 'run') {
      this.emit('run', { runId: t.runId, env: t.env, dagId: t.dagId, state: t.to, error: t.error ?? null });
    } else {
      const { runId, taskId, to: state, tryNumber, error } = t;
      this.emit('task', { runId, taskId, state, ...(tryNumber ? { tryNumber } : {}), error: error ?? null });
    }
  }

  // ---- polling and recovery --------------------------------------------------------------------

  /** Picks up runs queued and cancelled by other processes (a CLI, an API server). */
  async #poll(): Promise<void> {
    if (this.#stopping) return;
    this.#executor.enqueueRuns(await this.#queuedLocalRuns());
    const mine = this.#executor.runIds();
    if (mine.length) {
      const ended = await this.#db.kysely
        .selectFrom('runs')
        .select('id')
        .where('id', 'in', mine)
        .where('state', 'in', FINAL_RUN_STATES)
        .execute();
      this.#executor.runsEnded(ended.map((r) => r.id));
    }
  }

  /**
   * Up to 200 queued runs for the local executor, oldest first. Runs another executor owns are
   * skipped page by page, so a backlog of them (Airflow down) cannot starve local runs.
   */
  async #queuedLocalRuns(): Promise<Pick<RunsTable, 'id' | 'env' | 'dag_id'>[]> {
    const out: Pick<RunsTable, 'id' | 'env' | 'dag_id'>[] = [];
    for (let offset = 0; offset < 20_000 && out.length < 200; offset += 200) {
      const page = await this.#db.kysely
        .selectFrom('runs')
        .select(['id', 'env', 'dag_id'])
        .where('state', '=', 'queued')
        .orderBy('created_at')
        .orderBy('id')
        .limit(200)
        .offset(offset)
        .execute();
      out.push(...page.filter((r) => !this.#isExternal(r)));
      if (page.length < 200) break;
    }
    return out.slice(0, 200);
  }

  async #recover(previousHolder: string | null): Promise<void> {
    const q = this.#db.kysely;
    await failInterruptedAttempts(q, this.#dags, this.workerId, this.#now(), this.#hooks, previousHolder);
    const runs = await q.selectFrom('runs').selectAll().where('state', '=', 'running').execute();
    for (const row of runs) if (!this.#isExternal(row)) await this.#executor.resume(row);
  }
}
