/**
 * The local executor: the in-process claim-run-complete loop. It keeps the runs it is running in
 * memory (a `RunTracker` each), and works in cycles; each cycle is one transaction that completes the
 * attempts that ended, settles what became ready, starts queued runs, and claims tasks up to the
 * concurrency limit. A burst of completions shares one fsync (group commit), and a chain of tasks
 * costs one commit per step. Task code runs through `TaskRunner`s and never touches the store, so
 * this loop can move into a separate worker process.
 * @module
 */

import type { Transaction } from 'kysely';
import { getOrCreate } from '../lib/get-or-create.ts';
import { IdTable } from '../lib/id-table.ts';
import type { Db } from '../store/create-db.ts';
import type { Database, RunsTable } from '../store/database.ts';
import type { AttemptAbortController } from './attempt-abort-controller.ts';
import { claimTransition } from './claim-transition.ts';
import type { DagSource, EngineHooks, EngineTransition, RunSubmitter } from './engine-types.ts';
import { initialTasks } from './initial-tasks.ts';
import { type Completion, planCompletion, taskEvents } from './plan-completion.ts';
import { resumeTasks } from './resume-tasks.ts';
import { type AttemptSpec, runAttempt } from './run-attempt.ts';
import type { RunTracker } from './run-tracker.ts';
import { claimTasks } from './sql/claim-tasks.ts';
import {
  type ClaimedRunAttempt,
  completeAndClaim,
  type StatementRecord,
  type TaskClaim,
  type TaskMove,
} from './sql/complete-and-claim.ts';
import { completeAttempts } from './sql/complete-attempt.ts';
import { dagRefusal, readDecidedRun, startRefusal } from './sql/find-start-refusal.ts';
import { finishRun } from './sql/finish-run.ts';
import { insertLogs, type LogLine } from './sql/insert-logs.ts';
import { moveTaskTransitions } from './sql/move-tasks.ts';
import { refuseRun } from './sql/refuse-run.ts';
import { startRun } from './sql/start-run.ts';
import { statementRecords } from './statement-records.ts';
import { AttemptAbort, type TaskRunner } from './task-runner.ts';

export interface LocalExecutorOptions {
  readonly db: Db;
  readonly dags: DagSource;
  readonly concurrency: number;
  readonly defaultMaxActiveRuns: number;
  readonly hooks: EngineHooks;
  readonly runners: { readonly function: TaskRunner; readonly shell: TaskRunner };
  readonly submitter: () => RunSubmitter;
  readonly workerId: string;
  readonly now: () => number;
  /** Every transition, after its transaction committed. */
  readonly onTransition: (t: EngineTransition) => void;
  readonly onError: (e: Error) => void;
}

type RunRef = Pick<RunsTable, 'id' | 'env' | 'dag_id'>;

/** Queued runs read at once when a DAG with runs held back frees a slot. */
const QUEUED_READ_LIMIT = 100;
const dagKey = (d: { readonly env: string; readonly dagId: string }) => `${d.env}/${d.dagId}`;

type Launch = { tracker: RunTracker; taskId: string; tryNumber: number; attemptId: number };

interface Running {
  readonly tracker: RunTracker;
  readonly controller: AttemptAbortController;
}

export class LocalExecutor {
  readonly #o: LocalExecutorOptions;
  readonly #db: Db;
  readonly #dags: DagSource;
  readonly #concurrency: number;
  readonly #defaultMaxActiveRuns: number;
  readonly #hooks: EngineHooks;
  readonly #now: () => number;
  readonly workerId: string;

  readonly #trackers = new Map<string, RunTracker>();
  readonly #ready: Array<{ tracker: RunTracker; taskId: string }> = [];
  /** By attempt id (not a `Map`: see `IdTable`). */
  readonly #running = new IdTable<Running>();
  #completions: Completion[] = [];
  #logs: LogLine[] = [];
  readonly #retryTimers = new Set<NodeJS.Timeout>();
  readonly #dueRetries: Array<{ tracker: RunTracker; taskId: string }> = [];
  #queuedRuns: RunRef[] = [];
  /** DAGs (`env/dagId`) with runs left queued for want of a `maxActiveRuns` slot: a run of theirs that ends frees one. */
  readonly #held = new Set<string>();
  #cancelled: string[] = [];

  #started = false;
  #stopping = false;
  #cycleRunning = false;
  #cycleAgain = false;
  #logTimer: NodeJS.Timeout | undefined;
  readonly #idleWaiters = new Set<() => void>();

  constructor(options: LocalExecutorOptions) {
    this.#o = options;
    this.#db = options.db;
    this.#dags = options.dags;
    this.#concurrency = options.concurrency;
    this.#defaultMaxActiveRuns = options.defaultMaxActiveRuns;
    this.#hooks = options.hooks;
    this.#now = options.now;
    this.workerId = options.workerId;
  }

  start(): void {
    this.#started = true;
    this.#kick();
  }

  /** Runs to start when a slot under their DAG's `maxActiveRuns` is free. */
  enqueueRuns(runs: readonly RunRef[]): void {
    const known = new Set(this.#queuedRuns.map((r) => r.id));
    for (const r of runs) if (!this.#trackers.has(r.id) && !known.has(r.id)) this.#queuedRuns.push(r);
    if (runs.length) this.#kick();
  }

  /** Runs that ended elsewhere (cancelled): their running attempts are aborted. */
  runsEnded(runIds: readonly string[]): void {
    this.#cancelled.push(...runIds);
    if (runIds.length) this.#kick();
  }

  /** Ids of the runs this executor is running. */
  runIds(): string[] {
    return [...this.#trackers.keys()];
  }

  get runningCount(): number {
    return this.#running.size;
  }

  /**
   * Stops claiming, lets running attempts finish within the grace period, then aborts the rest
   * (they fail with reason `shutdown` and are retried by the usual rule on the next start).
   */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
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
      this.#o.onError(e as Error);
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
    let launched: Launch[] = [];
    /** The cycle's statement appended the audit records and carried the commit: nothing may follow. */
    let audited = false;

    await this.#db.kysely.transaction().execute(async (trx) => {
      // 1. Attempts that ended, and what became ready or was settled downstream of them.
      const plans = completions.map((c) => planCompletion(c, !this.#trackers.has(c.tracker.info.runId), now));
      const retried: EngineTransition[] = [];
      for (const { tracker, taskId } of dueRetries) {
        if (!this.#trackers.has(tracker.info.runId) || tracker.states.get(taskId) !== 'up_for_retry')
          continue;
        retried.push(...taskEvents(tracker, tracker.transition(taskId, 'queued')));
      }
      let ended: Set<number>;
      if (this.#db.dialect === 'postgres') {
        // One statement: the completions, the moves they cause, and the claims of ready tasks; and
        // their audit records, when nothing else is left for this cycle to write.
        audited =
          this.#hooks.recordTexts !== undefined &&
          !logs.length &&
          !queuedRuns.length &&
          !completions.some((c) => c.tracker.isComplete && this.#trackers.has(c.tracker.info.runId));
        const done = await this.#completeAndClaim(trx, completions, plans, retried, now, audited);
        ended = done.ended;
        launched = done.launched;
        audited = done.audited;
      } else {
        ended = await completeAttempts(
          trx,
          plans.map((p) => p.completion),
          now,
        );
      }
      for (const [i, c] of completions.entries()) {
        const plan = plans[i]!;
        if (!ended.has(plan.completion.attemptId)) continue;
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
        const downstream = taskEvents(c.tracker, plan.downstream);
        transitions.push(...downstream);
        toWrite.push(...downstream);
        touched.add(c.tracker);
        if (plan.retryAt !== null) retries.push({ tracker: c.tracker, taskId: c.taskId, at: plan.retryAt });
        if (c.result.state === 'success') c.tracker.outputs.set(c.taskId, c.result.output);
      }
      transitions.push(...retried);
      toWrite.push(...retried);
      if (this.#db.dialect === 'postgres') this.#readyAfter(toWrite, launched);
      else await this.#writeTaskTransitions(trx, toWrite, now);
      // 2. Runs that may start (their first tasks are inserted already queued).
      for (const run of queuedRuns) {
        const tracker = await this.#startRun(trx, run, now, transitions);
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
      // 4. Ready tasks, up to the concurrency limit (on PostgreSQL, those not claimed in step 1: the
      // first tasks of runs started in step 2). On PostgreSQL this is the cycle's last statement,
      // and it appends the records of every transition the cycle made.
      if (!this.#stopping && !audited) {
        if (this.#db.dialect === 'postgres' && this.#hooks.recordTexts !== undefined && !logs.length) {
          const made = [
            ...transitions,
            ...launched.map((l) => claimTransition(l.tracker.info, l.taskId, l.tryNumber)),
          ];
          const done = await this.#claimAndRecord(trx, now, launched.length, made);
          launched.push(...done.launched);
          audited = done.audited;
        } else launched.push(...(await this.#claim(trx, now, launched.length)));
      }
      transitions.push(...launched.map((l) => claimTransition(l.tracker.info, l.taskId, l.tryNumber)));
      if (logs.length) await insertLogs(trx, logs);
      if (transitions.length && !audited) await this.#hooks.onTransitions?.(trx, transitions, { last: true });
    });

    for (const f of finished) this.#trackers.delete(f.tracker.info.runId);
    for (const r of retries) this.#scheduleRetry(r.tracker, r.taskId, r.at - now);
    for (const l of launched) this.#launch(l);
    for (const t of transitions) this.#o.onTransition(t);
    const freed = finished.filter((f) => this.#held.has(dagKey(f.tracker.info)));
    if (freed.length) this.#queuedRuns.push(...(await this.#queuedRunsFor(freed.map((f) => f.tracker))));
    if (this.#queuedRuns.length || (this.#ready.length && this.#running.size < this.#concurrency))
      this.#cycleAgain = true;
  }

  async #writeTaskTransitions(
    trx: Transaction<Database>,
    transitions: readonly EngineTransition[],
    now: number,
  ): Promise<void> {
    await moveTaskTransitions(trx, transitions, now);
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
    transitions: EngineTransition[],
  ): Promise<RunTracker | null> {
    if (this.#trackers.has(run.id)) return null;
    const found = this.#dags.find(run.env, run.dag_id);
    const row = await readDecidedRun(trx, run.id);
    if (row?.state !== 'queued') return null;
    if (found) {
      const max = found.dag.options.maxActiveRuns ?? this.#defaultMaxActiveRuns;
      if (this.#activeRunsOf(run.env, run.dag_id) >= max) {
        this.#held.add(dagKey({ env: run.env, dagId: run.dag_id }));
        return null;
      }
    }
    // Checked when the run would start, whatever queued it: a run waiting for a slot, approved, or
    // found after a restart never starts code that was not decided.
    const refusal = startRefusal(row, row.decided, found);
    if (refusal || !found) {
      transitions.push(...(await refuseRun(trx, row, 'queued', refusal!, now)));
      return null;
    }
    const { tracker, initial, tasks } = initialTasks(row, found.dag);
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

  /** `claimed`: claimed earlier in this cycle, not running yet. */
  async #claim(trx: Transaction<Database>, now: number, claimed: number) {
    const byRun = this.#pick(this.#concurrency - this.#running.size - claimed);
    const out: Launch[] = [];
    for (const [tracker, taskIds] of byRun) {
      for (const c of await claimTasks(trx, tracker.info.runId, taskIds, this.workerId, now)) {
        tracker.set(c.taskId, 'running');
        tracker.tries.set(c.taskId, c.tryNumber);
        out.push({ tracker, ...c });
      }
    }
    return out;
  }

  /** Takes up to `capacity` ready tasks off the list, those of runs still here and still queued. */
  #pick(capacity: number, ready = this.#ready): Map<RunTracker, string[]> {
    const byRun = new Map<RunTracker, string[]>();
    if (capacity <= 0 || ready.length === 0) return byRun;
    for (const p of ready.splice(0, capacity)) {
      if (!this.#trackers.has(p.tracker.info.runId) || p.tracker.states.get(p.taskId) !== 'queued') continue;
      getOrCreate(byRun, p.tracker, () => [] as string[]).push(p.taskId);
    }
    return byRun;
  }

  /**
   * PostgreSQL: the cycle's completions, the moves they cause and the claims, in one statement
   * (see `completeAndClaim`). What the completions make ready is claimed after the tasks that were
   * ready before, up to the concurrency limit, as `#claim` would a statement later.
   */
  async #completeAndClaim(
    trx: Transaction<Database>,
    completions: readonly Completion[],
    plans: ReadonlyArray<ReturnType<typeof planCompletion>>,
    retried: readonly EngineTransition[],
    now: number,
    audited: boolean,
  ): Promise<{ ended: Set<number>; launched: Launch[]; audited: boolean }> {
    const moves: TaskMove[] = [];
    for (const [i, c] of completions.entries())
      for (const t of plans[i]!.downstream)
        moves.push({ runId: c.tracker.info.runId, ...t, src: plans[i]!.completion.attemptId });
    for (const t of retried) if (t.kind === 'task') moves.push({ ...t, src: null });
    const capacity = this.#stopping ? 0 : this.#concurrency - this.#running.size;
    const readied = moves.flatMap((m) => {
      const tracker = this.#trackers.get(m.runId);
      return m.to === 'queued' && tracker ? [{ tracker, taskId: m.taskId, move: m }] : [];
    });
    const picked = this.#pick(capacity);
    const left = capacity - [...picked.values()].reduce((n, ids) => n + ids.length, 0);
    const fresh = this.#pick(left, [...readied]);
    const claims: TaskClaim[] = [];
    for (const [tracker, ids] of picked)
      for (const taskId of ids) claims.push({ runId: tracker.info.runId, taskId, from: 'queued', src: null });
    const claimedMoves = new Set<TaskMove>();
    for (const r of readied) {
      if (!fresh.get(r.tracker)?.includes(r.taskId)) continue;
      claimedMoves.add(r.move);
      claims.push({ runId: r.move.runId, taskId: r.taskId, from: r.move.from, src: r.move.src });
    }
    // A cycle that only starts runs has nothing for this statement: no round trip for it.
    if (!completions.length && !moves.length && !claims.length)
      return { ended: new Set(), launched: [], audited: false };
    const records = audited ? this.#statementRecords({ completions, plans, made: retried, claims }) : [];
    const done = await completeAndClaim(trx, {
      completions: plans.map((p) => p.completion),
      moves: moves.filter((m) => !claimedMoves.has(m)),
      claims,
      workerId: this.workerId,
      now,
      records,
    });
    return { ended: done.ended, launched: this.#launches(done.claimed), audited: records.length > 0 };
  }

  /**
   * PostgreSQL, as the cycle's last statement: claims ready tasks as `#claim` does, and appends the
   * records of the transitions the cycle already made (`made`) and of the claims it makes.
   */
  async #claimAndRecord(
    trx: Transaction<Database>,
    now: number,
    claimed: number,
    made: readonly EngineTransition[],
  ): Promise<{ launched: Launch[]; audited: boolean }> {
    const claims: TaskClaim[] = [];
    for (const [tracker, ids] of this.#pick(this.#concurrency - this.#running.size - claimed))
      for (const taskId of ids) claims.push({ runId: tracker.info.runId, taskId, from: 'queued', src: null });
    if (!claims.length) return { launched: [], audited: false };
    const records = this.#statementRecords({ completions: [], plans: [], made, claims });
    const done = await completeAndClaim(trx, {
      completions: [],
      moves: [],
      claims,
      workerId: this.workerId,
      now,
      records,
    });
    return { launched: this.#launches(done.claimed), audited: records.length > 0 };
  }

  #launches(claimed: readonly ClaimedRunAttempt[]): Launch[] {
    const launched: Launch[] = [];
    for (const c of claimed) {
      const tracker = this.#trackers.get(c.runId);
      if (!tracker) continue;
      tracker.set(c.taskId, 'running');
      tracker.tries.set(c.taskId, c.tryNumber);
      launched.push({ tracker, ...c });
    }
    return launched;
  }

  #statementRecords(step: Parameters<typeof statementRecords>[2]): StatementRecord[] {
    return statementRecords(this.#hooks.recordTexts!, (runId) => this.#trackers.get(runId)!, step);
  }

  /** PostgreSQL: tasks the cycle made ready and did not claim wait on the ready list. */
  #readyAfter(written: readonly EngineTransition[], launched: readonly Launch[]): void {
    const claimed = new Set(launched.map((l) => `${l.tracker.info.runId}\u0000${l.taskId}`));
    for (const t of written) {
      if (t.kind !== 'task' || t.to !== 'queued' || claimed.has(`${t.runId}\u0000${t.taskId}`)) continue;
      const tracker = this.#trackers.get(t.runId);
      if (tracker) this.#ready.push({ tracker, taskId: t.taskId });
    }
  }

  #launch(spec: AttemptSpec): void {
    const { tracker, taskId, tryNumber, attemptId } = spec;
    const { runId } = tracker.info;
    const { controller, done } = runAttempt(spec, {
      runners: this.#o.runners,
      submitter: this.#o.submitter,
      log: (stream, line) => this.#log(attemptId, runId, taskId, stream, line),
    });
    this.#running.set(attemptId, { tracker, controller });
    done.then((result) => {
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

  /**
   * The queued runs of DAGs that had runs held back, oldest first. A DAG stays held while it may have
   * more than this read returns; runs held again mark it again. Runs no process told this one about
   * are the poll's to find.
   */
  async #queuedRunsFor(trackers: RunTracker[]) {
    const keys = new Set(trackers.map((t) => dagKey(t.info)));
    for (const k of keys) this.#held.delete(k);
    const dags = [...new Set(trackers.map((t) => t.info.dagId))];
    const rows = await this.#db.kysely
      .selectFrom('runs')
      .select(['id', 'env', 'dag_id'])
      .where('state', '=', 'queued')
      .where('dag_id', 'in', dags)
      .orderBy('created_at')
      .limit(QUEUED_READ_LIMIT)
      .execute();
    if (rows.length === QUEUED_READ_LIMIT) for (const k of keys) this.#held.add(k);
    return rows;
  }

  /**
   * Picks up a run a previous process left running (after its interrupted attempts were failed). A
   * run whose DAG is gone or changed since it was decided ends `failed`; every change is recorded.
   */
  async resume(row: RunsTable): Promise<void> {
    const now = this.#now();
    const found = this.#dags.find(row.env, row.dag_id);
    const transitions: EngineTransition[] = [];
    const tracker = await this.#db.kysely.transaction().execute(async (trx) => {
      const refusal = dagRefusal(row, found);
      let t: RunTracker | undefined;
      if (refusal || !found) transitions.push(...(await refuseRun(trx, row, 'running', refusal!, now)));
      else t = await resumeTasks(trx, row, found.dag, now, transitions);
      if (transitions.length) await this.#hooks.onTransitions?.(trx, transitions, { last: true });
      return t;
    });
    if (tracker && !tracker.isComplete) {
      this.#trackers.set(row.id, tracker);
      for (const [taskId, state] of tracker.states) {
        if (state === 'queued') this.#ready.push({ tracker, taskId });
      }
    }
    for (const t of transitions) this.#o.onTransition(t);
    if (tracker && !tracker.isComplete) {
      const retries = await this.#db.kysely
        .selectFrom('task_instances')
        .select(['task_id', 'next_try_at'])
        .where('run_id', '=', row.id)
        .where('state', '=', 'up_for_retry')
        .execute();
      for (const r of retries) this.#scheduleRetry(tracker, r.task_id, (r.next_try_at ?? now) - now);
    }
  }
}
