/**
 * The Airflow executor: runs of Airflow-backed environments execute in Airflow, not in process.
 * The gate creates the run row and its decision record as for any run; this executor then
 *
 * 1. **delivers** each queued run: `POST …/dagRuns` with the params as `conf`, a `dag_run_id` it
 *    chose (`airclutch__<run id>`, so a retry is the same remote run) and a `note` naming the
 *    requester and the approvers. Delivered: the run goes `queued → running` and the remote trigger
 *    is an audit record, in one transaction. Not deliverable now (Airflow down, slow, 5xx, auth):
 *    the run stays queued with its error shown and is retried with backoff: a decision is never
 *    lost. Refused by Airflow (404, 403, 400): the run fails, with Airflow's answer.
 * 2. **follows** each delivered run and its task instances, polling with backoff, and writes their
 *    transitions (task instances as task rows) with the audit hook in the same transaction.
 * 3. passes a **cancel** on to Airflow by marking the remote run failed.
 *
 * A run whose remote DAG changed since it was decided (another version) is not delivered.
 * @module
 */
import type { Transaction } from 'kysely';
import type { AuditEvent, AuditLog } from '../audit/audit-types.ts';
import type { EngineHooks, EngineTransition } from '../engine/engine-types.ts';
import { findStartRefusal, type StartRefusal } from '../engine/sql/find-start-refusal.ts';
import { finishRun } from '../engine/sql/finish-run.ts';
import { insertLogs } from '../engine/sql/insert-logs.ts';
import type { TaskState } from '../engine/states.ts';
import { AirclutchError, describeThrown } from '../lib/errors.ts';
import type { Db } from '../store/create-db.ts';
import type { Database, RunsTable } from '../store/database.ts';
import type { CatalogDag } from './airflow-catalog.ts';
import type { AirflowClient } from './airflow-client.ts';
import type { RemoteTaskInstance } from './airflow-types.ts';

export interface AirflowEnvironment {
  readonly client: AirflowClient;
  readonly pollIntervalMs: number;
  readonly maxPollIntervalMs: number;
}

export interface AirflowExecutorOptions {
  readonly db: Db;
  /** env → its Airflow. */
  readonly environments: ReadonlyMap<string, AirflowEnvironment>;
  /** The remote DAG of a run, if Airflow has it now. */
  readonly remoteDag: (env: string, dagId: string) => CatalogDag | undefined;
  readonly hooks: EngineHooks;
  readonly audit: Pick<AuditLog, 'append'>;
  readonly now?: () => number;
  /** How often the loop looks for work (default 250 ms). */
  readonly tickMs?: number;
  /** First delay before a failed delivery is tried again; doubles, capped at 5 min (default 1 s). */
  readonly deliveryRetryMs?: number;
  /** Remote calls in flight at once (default 64). */
  readonly concurrency?: number;
  /** After a transaction committed: the engine turns them into events (`waitForRun`, chat). */
  readonly onTransitions?: (t: readonly EngineTransition[]) => void;
  readonly onError?: (e: Error) => void;
}

const BRIDGE_ACTOR = { kind: 'service', id: 'airflow-bridge' } as const;

interface Follow {
  nextPollAt: number;
  intervalMs: number;
}

export class AirflowExecutor {
  readonly #o: AirflowExecutorOptions;
  readonly #now: () => number;
  readonly #follow = new Map<string, Follow>();
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #stopped = true;

  constructor(options: AirflowExecutorOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** True for runs this executor owns. */
  owns(run: { env: string }): boolean {
    return this.#o.environments.has(run.env);
  }

  start(): void {
    this.#stopped = false;
    this.#loop();
  }

  #loop = (): void => {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#again = false;
    this.#ticking = this.tick()
      .catch((e: unknown) => this.#o.onError?.(e as Error))
      .finally(() => {
        this.#ticking = undefined;
        if (this.#stopped) return;
        if (this.#again) this.#loop();
        else this.#timer = setTimeout(this.#loop, this.#o.tickMs ?? 250);
      });
  };

  #again = false;

  /**
   * A run was queued (the gate inserted or approved it): deliver it now rather than at the next
   * tick. During a tick, another follows at once.
   */
  wake(): void {
    if (this.#stopped) return;
    if (this.#ticking) this.#again = true;
    else this.#loop();
  }

  /** Resolves when the tick under way (if any) has finished. */
  async settled(): Promise<void> {
    await this.#ticking;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#ticking;
  }

  /** Runs followed now. */
  get followedCount(): number {
    return this.#follow.size;
  }

  /** One pass: deliver what is due, follow what is due, pass cancels on. Public so tests drive it. */
  async tick(): Promise<void> {
    await this.deliverQueued();
    await this.followRunning();
    await this.passCancels();
  }

  /** Delivers the queued runs that are due (first try, or their retry time came). */
  async deliverQueued(): Promise<void> {
    const envs = [...this.#o.environments.keys()];
    if (envs.length) await this.#deliverDue(envs);
  }

  /** Polls the running remote runs whose next poll is due. */
  async followRunning(): Promise<void> {
    const envs = [...this.#o.environments.keys()];
    if (envs.length) await this.#followDue(envs);
  }

  /** Passes cancels of delivered runs on to Airflow. */
  async passCancels(): Promise<void> {
    const envs = [...this.#o.environments.keys()];
    if (envs.length) await this.#passCancels(envs);
  }

  // ---- delivery --------------------------------------------------------------------------------

  async #deliverDue(envs: string[]): Promise<void> {
    const now = this.#now();
    const rows = await this.#o.db.kysely
      .selectFrom('runs as r')
      .leftJoin('airflow_runs as a', 'a.run_id', 'r.id')
      .selectAll('r')
      .select(['a.next_attempt_at', 'a.attempts'])
      .where('r.state', '=', 'queued')
      .where('r.env', 'in', envs)
      .where((w) => w.or([w('a.next_attempt_at', 'is', null), w('a.next_attempt_at', '<=', now)]))
      .orderBy('r.created_at')
      .limit(500)
      .execute();
    await inParallel(rows, this.#o.concurrency ?? 64, (r) =>
      this.#deliver(r, r.attempts ?? 0).catch((e: unknown) => this.#o.onError?.(e as Error)),
    );
  }

  async #deliver(run: RunsTable, attempts: number): Promise<void> {
    const env = this.#o.environments.get(run.env);
    if (!env) return;
    const remoteRunId = `airclutch__${run.id}`;
    const remote = this.#o.remoteDag(run.env, run.dag_id);
    // The same check the local executor makes: a run the gate decided, on the DAG version decided.
    const refusal = await findStartRefusal(this.#o.db.kysely, run, remote);
    if (refusal || !remote) {
      const { code, message } = refusal ?? { code: 'DAG_NOT_FOUND' as const, message: '' };
      await this.#refuse(run, remoteRunId, `${code}: ${message}; it was not delivered to Airflow`, code);
      return;
    }
    const note = await this.#note(run);
    try {
      const remoteRun = await env.client.triggerRun({
        dagId: run.dag_id,
        runId: remoteRunId,
        conf: JSON.parse(run.params) as Record<string, unknown>,
        note,
        logicalDate: new Date(run.logical_date ?? run.created_at).toISOString(),
      });
      await this.#delivered(run, remoteRunId, remoteRun.state, remote.version, env.client);
    } catch (e) {
      if (e instanceof AirclutchError && e.code === 'AIRFLOW_REFUSED') {
        await this.#refuse(run, remoteRunId, e.message);
        return;
      }
      await this.#retryLater(run, remoteRunId, attempts + 1, describeThrown(e), remote.version);
    }
  }

  async #note(run: RunsTable): Promise<string> {
    const votes = await this.#o.db.kysely
      .selectFrom('approval_votes as v')
      .innerJoin('approval_requests as q', 'q.id', 'v.request_id')
      .select(['v.voter'])
      .where('q.run_id', '=', run.id)
      .where('v.vote', '=', 'approve')
      .orderBy('v.created_at')
      .execute();
    const approvers = votes.map((v) => v.voter);
    const parts = [
      `Airclutch run ${run.id}: requested by ${run.requested_by} (verified ${run.requested_by_kind}) via ${run.source}`,
    ];
    if (approvers.length) parts.push(`approved by ${approvers.join(', ')}`);
    if (run.break_glass) parts.push('BREAK-GLASS: started without approval, review pending');
    if (run.note) parts.push(`note: ${run.note}`);
    // Airflow caps a run note at 1000 characters.
    return parts.join('; ').slice(0, 1000);
  }

  async #delivered(
    run: RunsTable,
    remoteRunId: string,
    remoteState: string,
    version: string,
    client: AirflowClient,
  ): Promise<void> {
    const now = this.#now();
    const transitions: EngineTransition[] = [];
    await this.#o.db.kysely.transaction().execute(async (trx) => {
      await upsertAirflowRun(
        trx,
        deliveryRow(run, remoteRunId, now, {
          delivery_state: 'delivered',
          attempts: 0,
          next_attempt_at: null,
          last_error: null,
          remote_state: remoteState,
          dag_version: version,
        }),
      );
      const res = await trx
        .updateTable('runs')
        .set({ state: 'running', started_at: now, error: null })
        .where('id', '=', run.id)
        .where('state', '=', 'queued')
        .executeTakeFirst();
      const started = Number(res.numUpdatedRows) === 1;
      if (started) transitions.push(leftQueue(run, 'running'));
      await this.#record(trx, transitions, [
        {
          action: 'airflow.trigger',
          actor: BRIDGE_ACTOR,
          source: 'bridge',
          resource: { env: run.env, dagId: run.dag_id, dagVersion: version, runId: run.id },
          outcome: 'delivered',
          details: { remoteRunId, airflow: client.baseUrl, api: client.api, remoteState },
        },
      ]);
    });
    if (transitions.length) {
      this.#follow.set(run.id, {
        nextPollAt: now,
        intervalMs: this.#o.environments.get(run.env)?.pollIntervalMs ?? 5_000,
      });
      this.#o.onTransitions?.(transitions);
    }
  }

  async #retryLater(
    run: RunsTable,
    remoteRunId: string,
    attempts: number,
    error: string,
    version: string,
  ): Promise<void> {
    const now = this.#now();
    const delay = Math.min(300_000, (this.#o.deliveryRetryMs ?? 1_000) * 2 ** Math.min(attempts - 1, 20));
    const next = now + delay;
    const shown = `not delivered to Airflow yet (attempt ${attempts}; next try at ${new Date(next).toISOString()}): ${error}`;
    await this.#o.db.kysely.transaction().execute(async (trx) => {
      await upsertAirflowRun(
        trx,
        deliveryRow(run, remoteRunId, now, {
          delivery_state: 'pending',
          attempts,
          next_attempt_at: next,
          last_error: error,
          remote_state: null,
          dag_version: version,
        }),
      );
      // The run stays queued and shows why: a decision is never silently lost.
      await trx
        .updateTable('runs')
        .set({ error: shown })
        .where('id', '=', run.id)
        .where('state', '=', 'queued')
        .execute();
      await this.#record(
        trx,
        [],
        [
          {
            action: 'airflow.trigger',
            actor: BRIDGE_ACTOR,
            source: 'bridge',
            resource: { env: run.env, dagId: run.dag_id, runId: run.id },
            outcome: 'retrying',
            details: { remoteRunId, attempt: attempts, nextAttemptAt: next, error },
          },
        ],
      );
    });
  }

  async #refuse(
    run: RunsTable,
    remoteRunId: string,
    error: string,
    code?: StartRefusal['code'],
  ): Promise<void> {
    const now = this.#now();
    const transitions: EngineTransition[] = [];
    await this.#o.db.kysely.transaction().execute(async (trx) => {
      await upsertAirflowRun(
        trx,
        deliveryRow(run, remoteRunId, now, {
          delivery_state: 'refused',
          attempts: 0,
          next_attempt_at: null,
          last_error: error,
          remote_state: null,
          dag_version: run.dag_version,
        }),
      );
      if (await finishRun(trx, run.id, 'failed', now, error, ['queued'])) {
        transitions.push(leftQueue(run, 'failed', { error, ...(code ? { code } : {}) }));
      }
      await this.#record(trx, transitions, [
        {
          action: 'airflow.trigger',
          actor: BRIDGE_ACTOR,
          source: 'bridge',
          resource: { env: run.env, dagId: run.dag_id, runId: run.id },
          outcome: 'refused',
          details: { remoteRunId, error },
        },
      ]);
    });
    this.#o.onTransitions?.(transitions);
  }

  // ---- following -------------------------------------------------------------------------------

  async #followDue(envs: string[]): Promise<void> {
    const rows = await this.#o.db.kysely
      .selectFrom('runs as r')
      .innerJoin('airflow_runs as a', 'a.run_id', 'r.id')
      .select(['r.id', 'r.env', 'r.dag_id', 'a.remote_run_id'])
      .where('r.state', '=', 'running')
      .where('r.env', 'in', envs)
      .where('a.delivery_state', '=', 'delivered')
      .execute();
    const now = this.#now();
    const live = new Set(rows.map((r) => r.id));
    for (const id of this.#follow.keys()) if (!live.has(id)) this.#follow.delete(id);
    const due = rows.filter((r) => {
      const f = this.#follow.get(r.id);
      if (!f) {
        this.#follow.set(r.id, {
          nextPollAt: now,
          intervalMs: this.#o.environments.get(r.env)?.pollIntervalMs ?? 5_000,
        });
        return true;
      }
      return f.nextPollAt <= now;
    });
    await inParallel(due, this.#o.concurrency ?? 64, (r) =>
      this.#poll(r).catch((e: unknown) => this.#o.onError?.(e as Error)),
    );
  }

  async #poll(r: { id: string; env: string; dag_id: string; remote_run_id: string }): Promise<void> {
    const env = this.#o.environments.get(r.env);
    const f = this.#follow.get(r.id);
    if (!env || !f) return;
    let changed = false;
    try {
      const remote = await env.client.getRun(r.dag_id, r.remote_run_id);
      if (!remote) {
        changed = await this.#end(
          r,
          'failed',
          `the remote run ${r.remote_run_id} is gone from Airflow`,
          [],
          'gone',
        );
        return;
      }
      const tis = await env.client.taskInstances(r.dag_id, r.remote_run_id);
      const final = remote.state === 'success' || remote.state === 'failed' ? remote.state : undefined;
      changed = await this.#sync(r, tis, remote.state, final);
    } catch (e) {
      this.#o.onError?.(e as Error);
    } finally {
      const base = env.pollIntervalMs;
      f.intervalMs = changed ? base : Math.min(env.maxPollIntervalMs, Math.round(f.intervalMs * 1.5));
      f.nextPollAt = this.#now() + f.intervalMs;
    }
  }

  /** Writes task instance changes (and the run's end), with their audit records, in one transaction. */
  async #sync(
    r: { id: string; env: string; dag_id: string; remote_run_id: string },
    tis: readonly RemoteTaskInstance[],
    remoteState: string,
    final: 'success' | 'failed' | undefined,
  ): Promise<boolean> {
    const now = this.#now();
    const transitions: EngineTransition[] = [];
    await this.#o.db.kysely.transaction().execute(async (trx) => {
      const existing = await trx
        .selectFrom('task_instances')
        .select(['task_id', 'state', 'try_number'])
        .where('run_id', '=', r.id)
        .execute();
      const byId = new Map(existing.map((t) => [t.task_id, t]));
      for (const ti of tis) {
        const to = taskStateOf(ti.state);
        const old = byId.get(ti.taskId);
        if (!old) {
          await trx
            .insertInto('task_instances')
            .values({
              run_id: r.id,
              task_id: ti.taskId,
              state: to,
              try_number: ti.tryNumber,
              max_tries: Math.max(1, ti.tryNumber),
              updated_at: now,
            })
            .execute();
          if (to !== 'pending') transitions.push(taskTransition(r, ti, 'pending', to));
        } else if (old.state !== to || old.try_number !== ti.tryNumber) {
          const res = await trx
            .updateTable('task_instances')
            .set({ state: to, try_number: ti.tryNumber, updated_at: now })
            .where('run_id', '=', r.id)
            .where('task_id', '=', ti.taskId)
            .where('state', '=', old.state)
            .executeTakeFirst();
          if (Number(res.numUpdatedRows) === 1 && old.state !== to)
            transitions.push(taskTransition(r, ti, old.state, to));
        }
      }
      await trx
        .updateTable('airflow_runs')
        .set({ remote_state: remoteState, updated_at: now })
        .where('run_id', '=', r.id)
        .execute();
      if (final) {
        const error =
          final === 'failed' ? `the Airflow run ${r.remote_run_id} failed${failedTasks(tis)}` : null;
        if (await finishRun(trx, r.id, final, now, error, ['running'])) {
          transitions.push({
            kind: 'run',
            runId: r.id,
            env: r.env,
            dagId: r.dag_id,
            from: 'running',
            to: final,
            error,
          });
        }
      }
      await this.#record(trx, transitions, []);
    });
    if (final) this.#follow.delete(r.id);
    this.#o.onTransitions?.(transitions);
    const ended = transitions.filter(
      (t) => t.kind === 'task' && ['success', 'failed', 'up_for_retry'].includes(t.to),
    );
    let grew = false;
    for (const t of ended) {
      if (t.kind !== 'task') continue;
      await this.#copyLog(r, t.taskId, t.tryNumber ?? 1, t.to === 'success' ? 'success' : 'failed').catch(
        (e: unknown) => this.#o.onError?.(e as Error),
      );
    }
    // A running try's log as it grows: only the lines not copied yet are appended.
    for (const ti of tis) {
      if (taskStateOf(ti.state) !== 'running' || ti.tryNumber < 1) continue;
      const added = await this.#copyLog(r, ti.taskId, ti.tryNumber, 'running').catch((e: unknown) => {
        this.#o.onError?.(e as Error);
        return 0;
      });
      if (added > 0) grew = true;
    }
    return transitions.length > 0 || grew;
  }

  /**
   * Copies a try's log from Airflow into the run's log, as one attempt, so `runs logs` (gated by
   * `readLogs`, `-f` following it) shows it like a local task's log. Called at each poll while the
   * try runs and once when it ends: Airflow's log of a try only grows, so only the lines past those
   * already copied are appended (none twice), and the attempt takes the try's end state. Returns how
   * many lines were appended.
   */
  async #copyLog(
    r: { id: string; env: string; dag_id: string; remote_run_id: string },
    taskId: string,
    tryNumber: number,
    state: 'running' | 'success' | 'failed',
  ): Promise<number> {
    const env = this.#o.environments.get(r.env);
    if (!env) return 0;
    const text = await env.client.taskLog(r.dag_id, r.remote_run_id, taskId, tryNumber);
    const lines = text.split('\n').filter((l) => l.length > 0);
    const now = this.#now();
    const ended = state === 'running' ? null : now;
    return this.#o.db.kysely.transaction().execute(async (trx) => {
      let attempt = await trx
        .selectFrom('attempts')
        .select(['id', 'state'])
        .where('run_id', '=', r.id)
        .where('task_id', '=', taskId)
        .where('try_number', '=', tryNumber)
        .executeTakeFirst();
      if (!attempt) {
        attempt = await trx
          .insertInto('attempts')
          .values({
            run_id: r.id,
            task_id: taskId,
            try_number: tryNumber,
            state,
            started_at: now,
            ended_at: ended,
            error: null,
            exit_code: null,
            worker_id: `airflow:${env.client.baseUrl}`,
            heartbeat_at: now,
          })
          .returning(['id', 'state'])
          .executeTakeFirstOrThrow();
      } else if (attempt.state === 'running' && state !== 'running') {
        await trx
          .updateTable('attempts')
          .set({ state, ended_at: ended, heartbeat_at: now })
          .where('id', '=', attempt.id)
          .where('state', '=', 'running')
          .execute();
      } else if (attempt.state !== 'running') {
        // A try whose final log was already copied keeps it.
        return 0;
      }
      const copied = await trx
        .selectFrom('task_logs')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('attempt_id', '=', attempt.id)
        .executeTakeFirstOrThrow();
      const fresh = lines.slice(Number(copied.n));
      await insertLogs(
        trx,
        fresh.map((line) => ({
          attempt_id: Number(attempt.id),
          run_id: r.id,
          task_id: taskId,
          ts: now,
          stream: 'airflow',
          line,
        })),
      );
      return fresh.length;
    });
  }

  async #end(
    r: { id: string; env: string; dag_id: string },
    state: 'failed',
    error: string,
    events: AuditEvent[],
    remoteState: string,
  ): Promise<boolean> {
    const now = this.#now();
    const transitions: EngineTransition[] = [];
    await this.#o.db.kysely.transaction().execute(async (trx) => {
      await trx
        .updateTable('airflow_runs')
        .set({ remote_state: remoteState, updated_at: now })
        .where('run_id', '=', r.id)
        .execute();
      if (await finishRun(trx, r.id, state, now, error, ['running'])) {
        transitions.push({
          kind: 'run',
          runId: r.id,
          env: r.env,
          dagId: r.dag_id,
          from: 'running',
          to: state,
          error,
        });
      }
      await this.#record(trx, transitions, events);
    });
    this.#follow.delete(r.id);
    this.#o.onTransitions?.(transitions);
    return transitions.length > 0;
  }

  // ---- cancel ----------------------------------------------------------------------------------

  async #passCancels(envs: string[]): Promise<void> {
    const rows = await this.#o.db.kysely
      .selectFrom('runs as r')
      .innerJoin('airflow_runs as a', 'a.run_id', 'r.id')
      .select(['r.id', 'r.env', 'r.dag_id', 'a.remote_run_id'])
      .where('r.state', '=', 'cancelled')
      .where('r.env', 'in', envs)
      .where('a.delivery_state', '=', 'delivered')
      .where('a.cancel_sent', '=', 0)
      .execute();
    await inParallel(rows, this.#o.concurrency ?? 64, async (r) => {
      const env = this.#o.environments.get(r.env);
      if (!env) return;
      let outcome = 'failed';
      try {
        const remote = await env.client.getRun(r.dag_id, r.remote_run_id);
        if (remote && (remote.state === 'queued' || remote.state === 'running'))
          await env.client.failRun(r.dag_id, r.remote_run_id);
        else outcome = remote ? `already ${remote.state}` : 'gone';
      } catch (e) {
        // Tried again on the next pass; the error is kept on the bridge's row.
        await this.#o.db.kysely
          .updateTable('airflow_runs')
          .set({ last_error: describeThrown(e), updated_at: this.#now() })
          .where('run_id', '=', r.id)
          .execute();
        return;
      }
      await this.#o.db.kysely.transaction().execute(async (trx) => {
        await trx
          .updateTable('airflow_runs')
          .set({ cancel_sent: 1, remote_state: 'failed', last_error: null, updated_at: this.#now() })
          .where('run_id', '=', r.id)
          .execute();
        await this.#record(
          trx,
          [],
          [
            {
              action: 'airflow.cancel',
              actor: BRIDGE_ACTOR,
              source: 'bridge',
              resource: { env: r.env, dagId: r.dag_id, runId: r.id },
              outcome,
              details: { remoteRunId: r.remote_run_id },
            },
          ],
        );
      });
    });
  }

  async #record(
    trx: Transaction<Database>,
    transitions: readonly EngineTransition[],
    events: AuditEvent[],
  ): Promise<void> {
    // The run's lifecycle goes through the engine's audit hook, like a local run; bridge facts follow.
    if (transitions.length) await this.#o.hooks.onTransitions?.(trx, transitions);
    if (events.length) await this.#o.audit.append(events, { trx });
  }
}

/** A queued run's move to `to`: delivered (`running`) or refused (`failed`, with why). */
function leftQueue(
  run: RunsTable,
  to: 'running' | 'failed',
  why: { error?: string; code?: string } = {},
): EngineTransition {
  return { kind: 'run', runId: run.id, env: run.env, dagId: run.dag_id, from: 'queued', to, ...why };
}

/** The delivery row of `run`: what is the same in every state, plus that state's fields. */
function deliveryRow(
  run: RunsTable,
  remoteRunId: string,
  now: number,
  state: Pick<
    Database['airflow_runs'],
    'delivery_state' | 'attempts' | 'next_attempt_at' | 'last_error' | 'remote_state' | 'dag_version'
  >,
): Database['airflow_runs'] {
  return {
    run_id: run.id,
    env: run.env,
    dag_id: run.dag_id,
    remote_run_id: remoteRunId,
    cancel_sent: 0,
    updated_at: now,
    ...state,
  };
}

async function upsertAirflowRun(trx: Transaction<Database>, row: Database['airflow_runs']): Promise<void> {
  await trx
    .insertInto('airflow_runs')
    .values(row)
    .onConflict((oc) =>
      oc.column('run_id').doUpdateSet({
        delivery_state: row.delivery_state,
        attempts: row.attempts,
        next_attempt_at: row.next_attempt_at,
        last_error: row.last_error,
        remote_state: row.remote_state,
        dag_version: row.dag_version,
        updated_at: row.updated_at,
      }),
    )
    .execute();
}

/** Airflow's task instance states, as Airclutch task states. */
export function taskStateOf(s: string | null): TaskState {
  switch (s) {
    case null:
    case 'none':
    case 'scheduled':
      return 'pending';
    case 'queued':
      return 'queued';
    case 'running':
    case 'deferred':
    case 'restarting':
    case 'up_for_reschedule':
      return 'running';
    case 'up_for_retry':
      return 'up_for_retry';
    case 'success':
      return 'success';
    case 'failed':
      return 'failed';
    case 'upstream_failed':
      return 'upstream_failed';
    case 'skipped':
    case 'removed':
      return 'skipped';
    default:
      return 'pending';
  }
}

function taskTransition(
  r: { id: string; env: string; dag_id: string },
  ti: RemoteTaskInstance,
  from: TaskState,
  to: TaskState,
): EngineTransition {
  return {
    kind: 'task',
    runId: r.id,
    env: r.env,
    dagId: r.dag_id,
    taskId: ti.taskId,
    from,
    to,
    ...(ti.tryNumber ? { tryNumber: ti.tryNumber } : {}),
  };
}

function failedTasks(tis: readonly RemoteTaskInstance[]): string {
  const failed = tis.filter((t) => t.state === 'failed').map((t) => t.taskId);
  return failed.length ? ` (failed tasks: ${failed.join(', ')})` : '';
}

async function inParallel<T>(items: readonly T[], width: number, fn: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  const worker = async () => {
    while (i < items.length) await fn(items[i++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}
