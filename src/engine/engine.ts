/**
 * The engine: starts queued runs, claims ready tasks, runs them under a concurrency limit, and
 * records every transition durably. Work happens in cycles; each cycle is one transaction that
 * completes the attempts that ended, settles what became ready, starts runs, and claims tasks, so a
 * burst of completions shares one fsync (group commit) and a chain of tasks costs one commit per step.
 *
 * @example
 * const engine = new Engine({ db, dags: registry });
 * await engine.start();
 * const run = await engine.trigger({ env: 'dev', dagId: 'nightly_revenue', source: 'cli', principal });
 * await engine.waitForRun(run.id);
 * await engine.stop();
 * @module
 */
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type { Transaction } from 'kysely';
import { AirclutchError } from '../lib/errors.ts';
import { getOrCreate } from '../lib/get-or-create.ts';
import { newId } from '../lib/ids.ts';
import { paramsHash } from '../lib/params-hash.ts';
import type { Db } from '../store/create-db.ts';
import type { Database, RunsTable } from '../store/database.ts';
import type { DagSource, EngineHooks, EngineTransition, RunRequest, RunSubmitter } from './engine-types.ts';
import { FunctionTaskRunner } from './function-task-runner.ts';
import { retryDelay } from './retry-delay.ts';
import { RunTracker, type TaskTransition } from './run-tracker.ts';
import { ShellTaskRunner } from './shell-task-runner.ts';
import { cancelRun } from './sql/cancel-run.ts';
import { claimTasks } from './sql/claim-tasks.ts';
import { type AttemptCompletion, completeAttempt } from './sql/complete-attempt.ts';
import { finishRun } from './sql/finish-run.ts';
import { insertLogs, type LogLine } from './sql/insert-logs.ts';
import { insertRun, type NewRun } from './sql/insert-run.ts';
import { moveTasks } from './sql/move-tasks.ts';
import { findInterrupted } from './sql/recover-interrupted.ts';
import { startRun } from './sql/start-run.ts';
import { FINAL_RUN_STATES, type RunState, type TaskState } from './states.ts';
import { AttemptAbort, type AttemptResult, type AttemptWork, type TaskRunner } from './task-runner.ts';

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
}

interface Running {
  readonly tracker: RunTracker;
  readonly taskId: string;
  readonly tryNumber: number;
  readonly controller: AbortController;
  timer?: NodeJS.Timeout;
}

interface Completion {
  readonly attemptId: number;
  readonly tracker: RunTracker;
  readonly taskId: string;
  readonly tryNumber: number;
  readonly result: AttemptResult;
}

export interface EngineEvents {
  run: [{ runId: string; env: string; dagId: string; state: RunState; error?: string | null }];
  task: [{ runId: string; taskId: string; state: TaskState; tryNumber?: number; error?: string | null }];
  error: [Error];
}

export class Engine extends EventEmitter<EngineEvents> {
  readonly workerId: string;
  readonly #db: Db;
  readonly #dags: DagSource;
  readonly #concurrency: number;
  readonly #graceMs: number;
  readonly #defaultMaxActiveRuns: number;
  readonly #pollMs: number;
  readonly #hooks: EngineHooks;
  readonly #runners: { function: TaskRunner; shell: TaskRunner };
  readonly #now: () => number;
  #submitter: RunSubmitter;

  readonly #trackers = new Map<string, RunTracker>();
  readonly #ready: Array<{ tracker: RunTracker; taskId: string }> = [];
  readonly #running = new Map<number, Running>();
  #completions: Completion[] = [];
  #logs: LogLine[] = [];
  readonly #retryTimers = new Set<NodeJS.Timeout>();
  readonly #dueRetries: Array<{ tracker: RunTracker; taskId: string }> = [];
  #queuedRuns: Array<Pick<RunsTable, 'id' | 'env' | 'dag_id'>> = [];
  #cancelled: string[] = [];

  #started = false;
  #stopping = false;
  #cycleRunning = false;
  #cycleAgain = false;
  #pollTimer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #logTimer: NodeJS.Timeout | undefined;
  readonly #idleWaiters = new Set<() => void>();

  constructor(options: EngineOptions) {
    super();
    this.#db = options.db;
    this.#dags = options.dags;
    this.#concurrency = options.concurrency ?? 32;
    this.#graceMs = options.shutdownGraceMs ?? 30_000;
    this.#defaultMaxActiveRuns = options.defaultMaxActiveRuns ?? 16;
    this.#pollMs = options.pollIntervalMs ?? 500;
    this.#hooks = options.hooks ?? {};
    this.#now = options.clock ?? Date.now;
    this.workerId = options.workerId ?? `${hostname()}:${process.pid}:${newId()}`;
    this.#runners = {
      function: options.runners?.function ?? new FunctionTaskRunner(),
      shell: options.runners?.shell ?? new ShellTaskRunner(),
    };
    this.#submitter = { submit: (req) => this.#submitDirect(req) };
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
    this.#started = true;
    await this.#recover();
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
    this.#kick();
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
    };
  }

  /** Inserts a prepared run, in the caller's transaction when given one. Call `notify()` after commit. */
  async insertRun(run: NewRun, trx?: Transaction<Database>): Promise<void> {
    await insertRun(trx ?? this.#db.kysely, run);
  }

  /** Creates a queued run directly, without the gate: for tests, benchmarks and the default submitter. */
  async trigger(request: RunRequest): Promise<NewRun> {
    const run = await this.prepareRun(request);
    await this.insertRun(run);
    this.notify(run);
    return run;
  }

  async #submitDirect(request: RunRequest): Promise<{ runId: string | null; outcome: string }> {
    const run = await this.trigger(request);
    return { runId: run.id, outcome: 'allow' };
  }

  /** Tells the engine that a run was queued (or approved) in this process, so it starts at once. */
  notify(run?: Pick<RunsTable, 'id' | 'env' | 'dag_id'>): void {
    if (run) this.#queuedRuns.push(run);
    this.#kick();
  }

  /** Cancels a run: pending work is dropped and running attempts are aborted. */
  async cancelRun(runId: string, reason = 'cancelled'): Promise<boolean> {
    const done = await cancelRun(this.#db.kysely, runId, reason, this.#now(), this.#hooks);
    if (!done) return false;
    this.#cancelled.push(runId);
    this.emit('run', { runId, env: done.env, dagId: done.dag_id, state: 'cancelled', error: reason });
    this.#kick();
    return true;
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
    return this.#running.size;
  }

  /**
   * Stops claiming, lets running attempts finish within the grace period, then aborts the rest
   * (they fail with reason `shutdown` and are retried by the usual rule on the next start).
   */
  async stop(graceMs = this.#graceMs): Promise<void> {
    if (!this.#started || this.#stopping) return;
    this.#stopping = true;
    clearInterval(this.#pollTimer);
    await this.#polling;
    for (const t of this.#retryTimers) clearTimeout(t);
    this.#retryTimers.clear();
    if (this.#running.size > 0) {
      const drained = new Promise<void>((r) => this.#idleWaiters.add(r));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((r) => {
        timer = setTimeout(r, graceMs);
      });
      await Promise.race([drained, timedOut]);
      clearTimeout(timer);
      for (const r of this.#running.values()) {
        r.controller.abort(
          new AttemptAbort(
            'shutdown',
            `Airclutch shut down before the attempt finished (grace ${graceMs} ms)`,
          ),
        );
      }
      if (this.#running.size > 0) await new Promise<void>((r) => this.#idleWaiters.add(r));
    }
    await this.#drainCycles();
    clearTimeout(this.#logTimer);
    this.#started = false;
  }

  // ---- the cycle -------------------------------------------------------------------------------

  #kick(): void {
    // An engine that is not started only writes runs; a started one picks them up when it polls.
    if (!this.#started) return;
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
      } while (this.#cycleAgain);
    } catch (e) {
      this.emit('error', e as Error);
    } finally {
      this.#cycleRunning = false;
      if (this.#cycleAgain) this.#kick();
      if (this.#running.size === 0) for (const w of this.#idleWaiters) w();
      if (this.#running.size === 0) this.#idleWaiters.clear();
    }
  }

  async #drainCycles(): Promise<void> {
    while (this.#cycleRunning || this.#completions.length || this.#logs.length) {
      if (!this.#cycleRunning) this.#kick();
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async #cycle(): Promise<void> {
    const completions = this.#completions;
    this.#completions = [];
    const logs = this.#logs;
    this.#logs = [];
    const dueRetries = this.#dueRetries.splice(0);
    const queuedRuns = this.#stopping ? [] : this.#queuedRuns.splice(0);
    const cancelled = this.#cancelled.splice(0);
    if (
      !completions.length &&
      !logs.length &&
      !dueRetries.length &&
      !queuedRuns.length &&
      !cancelled.length &&
      (this.#stopping || this.#ready.length === 0)
    ) {
      return;
    }
    for (const runId of cancelled) this.#dropRun(runId, 'the run was cancelled');

    const now = this.#now();
    /** Every transition of this cycle, for the hooks and the events. */
    const transitions: EngineTransition[] = [];
    /** Task transitions still to write with `moveTasks` (completions and claims write their own). */
    const toWrite: EngineTransition[] = [];
    const retries: Array<{ tracker: RunTracker; taskId: string; at: number }> = [];
    const finished: Array<{ tracker: RunTracker; state: 'success' | 'failed' }> = [];
    const touched = new Set<RunTracker>();
    let launched: Array<{ tracker: RunTracker; taskId: string; tryNumber: number; attemptId: number }> = [];

    await this.#db.kysely.transaction().execute(async (trx) => {
      // 1. Attempts that ended, and what became ready or was settled downstream of them.
      for (const c of completions) {
        const plan = this.#planCompletion(c, now);
        if (!(await completeAttempt(trx, plan.completion, now))) continue;
        const { runId, env, dagId } = c.tracker.info;
        transitions.push({
          kind: 'task',
          runId,
          env,
          dagId,
          taskId: c.taskId,
          from: 'running',
          to: plan.completion.taskState,
          tryNumber: c.tryNumber,
          error: plan.completion.error,
        });
        const downstream = this.#taskEvents(c.tracker, plan.downstream);
        transitions.push(...downstream);
        toWrite.push(...downstream);
        touched.add(c.tracker);
        if (plan.retryAt !== null) retries.push({ tracker: c.tracker, taskId: c.taskId, at: plan.retryAt });
        if (c.result.state === 'success') c.tracker.outputs.set(c.taskId, c.result.output);
      }
      for (const { tracker, taskId } of dueRetries) {
        if (!this.#trackers.has(tracker.info.runId) || tracker.states.get(taskId) !== 'up_for_retry')
          continue;
        const events = this.#taskEvents(tracker, tracker.transition(taskId, 'queued'));
        transitions.push(...events);
        toWrite.push(...events);
      }
      await this.#writeTaskTransitions(trx, toWrite, now);
      // 2. Runs that may start (their first tasks are inserted already queued).
      for (const run of queuedRuns) {
        const tracker = await this.#startRun(trx, run, now);
        if (!tracker) continue;
        touched.add(tracker);
        transitions.push({
          kind: 'run',
          runId: run.id,
          env: run.env,
          dagId: run.dag_id,
          from: 'queued',
          to: 'running',
        });
      }
      // 3. Runs that ended.
      for (const tracker of touched) {
        if (!tracker.isComplete || !this.#trackers.has(tracker.info.runId)) continue;
        const state = tracker.outcome();
        if (!(await finishRun(trx, tracker.info.runId, state, now))) continue;
        finished.push({ tracker, state });
        const { runId, env, dagId } = tracker.info;
        transitions.push({ kind: 'run', runId, env, dagId, from: 'running', to: state });
      }
      // 4. Ready tasks, up to the concurrency limit.
      launched = this.#stopping ? [] : await this.#claim(trx, now);
      for (const l of launched) {
        const { runId, env, dagId } = l.tracker.info;
        transitions.push({
          kind: 'task',
          runId,
          env,
          dagId,
          taskId: l.taskId,
          from: 'queued',
          to: 'running',
          tryNumber: l.tryNumber,
        });
      }
      if (logs.length) await insertLogs(trx, logs);
      if (transitions.length) await this.#hooks.onTransitions?.(trx, transitions);
    });

    for (const f of finished) this.#trackers.delete(f.tracker.info.runId);
    for (const r of retries) this.#scheduleRetry(r.tracker, r.taskId, r.at - now);
    for (const l of launched) this.#launch(l.tracker, l.taskId, l.tryNumber, l.attemptId);
    for (const t of transitions) {
      if (t.kind === 'run')
        this.emit('run', { runId: t.runId, env: t.env, dagId: t.dagId, state: t.to, error: t.error ?? null });
      else
        this.emit('task', {
          runId: t.runId,
          taskId: t.taskId,
          state: t.to,
          ...(t.tryNumber ? { tryNumber: t.tryNumber } : {}),
          error: t.error ?? null,
        });
    }
    if (finished.length)
      this.#queuedRuns.push(...(await this.#queuedRunsFor(finished.map((f) => f.tracker))));
    if (this.#queuedRuns.length || (this.#ready.length && this.#running.size < this.#concurrency))
      this.#cycleAgain = true;
  }

  #planCompletion(c: Completion, now: number) {
    const { tracker, taskId, tryNumber, result } = c;
    const task = tracker.task(taskId);
    const runCancelled = !this.#trackers.has(tracker.info.runId);
    let taskState: TaskState;
    let retryAt: number | null = null;
    if (result.state === 'success') taskState = 'success';
    else if (runCancelled || result.reason === 'cancelled') taskState = 'cancelled';
    else if (task && tryNumber < task.retries + 1) {
      taskState = 'up_for_retry';
      retryAt = result.reason === 'shutdown' ? now : now + retryDelay(task, tryNumber);
    } else taskState = 'failed';
    const completion: AttemptCompletion = {
      attemptId: c.attemptId,
      runId: tracker.info.runId,
      taskId,
      attemptState: result.state,
      taskState,
      error: result.state === 'failed' ? result.error : null,
      exitCode: result.exitCode ?? null,
      outputJson: result.state === 'success' ? result.outputJson : null,
      nextTryAt: retryAt,
    };
    // The tracker of a cancelled run is gone; only the attempt and its task instance are written.
    const downstream = runCancelled ? [] : tracker.transition(taskId, taskState).slice(1);
    return { completion, downstream, retryAt };
  }

  #taskEvents(tracker: RunTracker, tt: readonly TaskTransition[]): EngineTransition[] {
    const { runId, env, dagId } = tracker.info;
    return tt.map((t) => ({
      kind: 'task' as const,
      runId,
      env,
      dagId,
      taskId: t.taskId,
      from: t.from,
      to: t.to,
    }));
  }

  async #writeTaskTransitions(
    trx: Transaction<Database>,
    transitions: readonly EngineTransition[],
    now: number,
  ): Promise<void> {
    const groups = new Map<string, { runId: string; from: TaskState; to: TaskState; ids: string[] }>();
    for (const t of transitions) {
      if (t.kind !== 'task') continue;
      const key = `${t.runId}\u0000${t.from}\u0000${t.to}`;
      getOrCreate(groups, key, () => ({
        runId: t.runId,
        from: t.from,
        to: t.to,
        ids: [] as string[],
      })).ids.push(t.taskId);
    }
    for (const g of groups.values()) await moveTasks(trx, g.runId, g.ids, g.from, g.to, now);
    for (const t of transitions) {
      if (t.kind === 'task' && t.to === 'queued') {
        const tracker = this.#trackers.get(t.runId);
        if (tracker) this.#ready.push({ tracker, taskId: t.taskId });
      }
    }
  }

  async #startRun(
    trx: Transaction<Database>,
    run: Pick<RunsTable, 'id' | 'env' | 'dag_id'>,
    now: number,
  ): Promise<RunTracker | null> {
    if (this.#trackers.has(run.id)) return null;
    const found = this.#dags.find(run.env, run.dag_id);
    const row = await trx.selectFrom('runs').selectAll().where('id', '=', run.id).executeTakeFirst();
    if (row?.state !== 'queued') return null;
    if (!found) {
      await finishRun(
        trx,
        run.id,
        'failed',
        now,
        `DAG ${run.dag_id} is not loaded in environment ${run.env}`,
        ['queued'],
      );
      return null;
    }
    const max = found.dag.options.maxActiveRuns ?? this.#defaultMaxActiveRuns;
    if (this.#activeRunsOf(run.env, run.dag_id) >= max) return null;
    const tracker = new RunTracker(
      {
        runId: row.id,
        env: row.env,
        dagId: row.dag_id,
        dagVersion: row.dag_version,
        params: JSON.parse(row.params),
        logicalDate: row.logical_date,
      },
      found.dag,
      [...found.dag.tasks.keys()].map((id) => [id, 'pending', 0] as [string, TaskState, number]),
    );
    const initial = tracker.settleAll();
    const stateOf = new Map(initial.map((t) => [t.taskId, t.to]));
    const tasks = [...found.dag.tasks.values()].map((t) => ({
      taskId: t.id,
      state: stateOf.get(t.id) ?? ('pending' as TaskState),
      maxTries: t.retries + 1,
    }));
    if (!(await startRun(trx, run.id, tasks, now))) return null;
    this.#trackers.set(run.id, tracker);
    for (const t of initial) if (t.to === 'queued') this.#ready.push({ tracker, taskId: t.taskId });
    return tracker;
  }

  #activeRunsOf(env: string, dagId: string): number {
    let n = 0;
    for (const t of this.#trackers.values()) if (t.info.env === env && t.info.dagId === dagId) n++;
    return n;
  }

  async #claim(trx: Transaction<Database>, now: number) {
    const capacity = this.#concurrency - this.#running.size;
    if (capacity <= 0 || this.#ready.length === 0) return [];
    const picked = this.#ready.splice(0, capacity);
    const byRun = new Map<RunTracker, string[]>();
    for (const p of picked) {
      if (!this.#trackers.has(p.tracker.info.runId) || p.tracker.states.get(p.taskId) !== 'queued') continue;
      getOrCreate(byRun, p.tracker, () => [] as string[]).push(p.taskId);
    }
    const out: Array<{ tracker: RunTracker; taskId: string; tryNumber: number; attemptId: number }> = [];
    for (const [tracker, taskIds] of byRun) {
      for (const c of await claimTasks(trx, tracker.info.runId, taskIds, this.workerId, now)) {
        tracker.set(c.taskId, 'running');
        tracker.tries.set(c.taskId, c.tryNumber);
        out.push({ tracker, ...c });
      }
    }
    return out;
  }

  #launch(tracker: RunTracker, taskId: string, tryNumber: number, attemptId: number): void {
    const task = tracker.task(taskId)!;
    const controller = new AbortController();
    const running: Running = { tracker, taskId, tryNumber, controller };
    this.#running.set(attemptId, running);
    if (task.timeoutMs !== undefined) {
      running.timer = setTimeout(
        () =>
          controller.abort(
            new AttemptAbort('timeout', `the attempt did not finish within its ${task.timeoutMs} ms timeout`),
          ),
        task.timeoutMs,
      );
    }
    const { runId, env, dagId } = tracker.info;
    const work: AttemptWork = {
      attemptId,
      runId,
      env,
      dagId,
      taskId,
      tryNumber,
      maxTries: task.retries + 1,
      params: tracker.info.params,
      logicalDate: tracker.info.logicalDate,
      task,
      signal: controller.signal,
      upstream: (id) => {
        if (!tracker.isAncestor(id, taskId)) {
          throw new AirclutchError(
            'TASK_NOT_FOUND',
            `task ${taskId} can only read outputs of tasks upstream of it, and ${id} is not: add it to \`after\``,
          );
        }
        return tracker.outputs.get(id) ?? null;
      },
      log: (stream, line) => this.#log(attemptId, runId, taskId, stream, line),
      trigger: (targetDagId, params) =>
        this.#submitter.submit({
          env,
          dagId: targetDagId,
          params,
          source: 'dag',
          principal: {
            kind: 'service',
            id: `dag:${env}/${dagId}`,
            groups: [],
            issuer: 'airclutch',
            subject: `dag:${env}/${dagId}`,
          },
          note: `triggered by ${dagId}/${taskId} in run ${runId}`,
        }),
    };
    const runner = task.kind === 'shell' ? this.#runners.shell : this.#runners.function;
    runner
      .run(work)
      .catch(
        (e): AttemptResult => ({
          state: 'failed',
          reason: 'error',
          error: `runner failed: ${(e as Error).message}`,
        }),
      )
      .then((result) => {
        clearTimeout(running.timer);
        this.#running.delete(attemptId);
        this.#completions.push({ attemptId, tracker, taskId, tryNumber, result });
        this.#kick();
      });
  }

  #log(attemptId: number, runId: string, taskId: string, stream: string, line: string): void {
    this.#logs.push({ attempt_id: attemptId, run_id: runId, task_id: taskId, ts: this.#now(), stream, line });
    // Lines of a long attempt reach the store every 200 ms, so `runs logs -f` can follow them.
    if (!this.#logTimer) {
      this.#logTimer = setTimeout(() => {
        this.#logTimer = undefined;
        if (this.#logs.length) this.#kick();
      }, 200);
    }
  }

  #scheduleRetry(tracker: RunTracker, taskId: string, delayMs: number): void {
    if (this.#stopping) return;
    const timer = setTimeout(
      () => {
        this.#retryTimers.delete(timer);
        this.#dueRetries.push({ tracker, taskId });
        this.#kick();
      },
      Math.max(0, delayMs),
    );
    this.#retryTimers.add(timer);
  }

  #dropRun(runId: string, why: string): void {
    const tracker = this.#trackers.get(runId);
    if (!tracker) return;
    this.#trackers.delete(runId);
    for (const r of this.#running.values()) {
      if (r.tracker === tracker) r.controller.abort(new AttemptAbort('cancelled', why));
    }
  }

  // ---- polling and recovery --------------------------------------------------------------------

  async #poll(): Promise<void> {
    if (this.#stopping) return;
    const queued = await this.#db.kysely
      .selectFrom('runs')
      .select(['id', 'env', 'dag_id'])
      .where('state', '=', 'queued')
      .orderBy('created_at')
      .limit(200)
      .execute();
    const known = new Set(this.#queuedRuns.map((r) => r.id));
    for (const r of queued) if (!this.#trackers.has(r.id) && !known.has(r.id)) this.#queuedRuns.push(r);
    if (this.#trackers.size) {
      const ended = await this.#db.kysely
        .selectFrom('runs')
        .select('id')
        .where('id', 'in', [...this.#trackers.keys()])
        .where('state', 'in', FINAL_RUN_STATES)
        .execute();
      for (const r of ended) this.#cancelled.push(r.id);
    }
    if (this.#queuedRuns.length || this.#cancelled.length) this.#kick();
  }

  async #queuedRunsFor(trackers: RunTracker[]) {
    const dags = [...new Set(trackers.map((t) => t.info.dagId))];
    return this.#db.kysely
      .selectFrom('runs')
      .select(['id', 'env', 'dag_id'])
      .where('state', '=', 'queued')
      .where('dag_id', 'in', dags)
      .orderBy('created_at')
      .limit(100)
      .execute();
  }

  async #recover(): Promise<void> {
    const now = this.#now();
    const q = this.#db.kysely;
    await q.transaction().execute(async (trx) => {
      for (const a of await findInterrupted(trx, this.workerId)) {
        const run = await trx
          .selectFrom('runs')
          .select(['env', 'dag_id'])
          .where('id', '=', a.runId)
          .executeTakeFirst();
        const task = run ? this.#dags.find(run.env, run.dag_id)?.dag.tasks.get(a.taskId) : undefined;
        const retry = a.tryNumber < a.maxTries;
        await completeAttempt(
          trx,
          {
            attemptId: a.attemptId,
            runId: a.runId,
            taskId: a.taskId,
            attemptState: 'failed',
            taskState: retry ? 'up_for_retry' : 'failed',
            error: 'crashed: the process running this attempt stopped before it finished',
            exitCode: null,
            outputJson: null,
            nextTryAt: retry ? now + (task ? retryDelay(task, a.tryNumber) : 0) : null,
          },
          now,
        );
      }
    });
    const runs = await q.selectFrom('runs').selectAll().where('state', '=', 'running').execute();
    for (const row of runs) await this.#resume(row, now);
  }

  async #resume(row: RunsTable, now: number): Promise<void> {
    const found = this.#dags.find(row.env, row.dag_id);
    const tis = await this.#db.kysely
      .selectFrom('task_instances')
      .selectAll()
      .where('run_id', '=', row.id)
      .execute();
    if (!found) {
      await finishRun(
        this.#db.kysely,
        row.id,
        'failed',
        now,
        `DAG ${row.dag_id} no longer loads in environment ${row.env}`,
      );
      return;
    }
    const missing = tis.filter((t) => !found.dag.tasks.has(t.task_id) && t.state !== 'success');
    if (missing.length) {
      await moveTasks(
        this.#db.kysely,
        row.id,
        missing.map((t) => t.task_id),
        ['pending', 'queued', 'up_for_retry'],
        'failed',
        now,
      );
      for (const t of missing) t.state = 'failed';
    }
    const tracker = new RunTracker(
      {
        runId: row.id,
        env: row.env,
        dagId: row.dag_id,
        dagVersion: row.dag_version,
        params: JSON.parse(row.params),
        logicalDate: row.logical_date,
      },
      found.dag,
      tis.map((t) => [t.task_id, t.state, t.try_number] as [string, TaskState, number]),
    );
    for (const t of tis)
      if (t.state === 'success' && t.output !== null) tracker.outputs.set(t.task_id, JSON.parse(t.output));
    this.#trackers.set(row.id, tracker);
    const settled = tracker.settleAll();
    await this.#db.kysely
      .transaction()
      .execute((trx) => this.#writeTaskTransitions(trx, this.#taskEvents(tracker, settled), now));
    for (const t of tis) {
      const state = tracker.states.get(t.task_id);
      if (state === 'queued' && !settled.some((s) => s.taskId === t.task_id))
        this.#ready.push({ tracker, taskId: t.task_id });
      if (state === 'up_for_retry') this.#scheduleRetry(tracker, t.task_id, (t.next_try_at ?? now) - now);
    }
    if (tracker.isComplete) {
      const state = tracker.outcome();
      if (await finishRun(this.#db.kysely, row.id, state, now)) {
        this.#trackers.delete(row.id);
        this.emit('run', { runId: row.id, env: row.env, dagId: row.dag_id, state });
      }
    }
  }
}
