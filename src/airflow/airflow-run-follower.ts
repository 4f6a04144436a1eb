/**
 * Follows delivered runs in Airflow: polls each remote run and its task instances (from the
 * environment's `pollIntervalMs`, backing off by half each poll while nothing changes, up to
 * `maxPollIntervalMs`; a change resets it), and writes their transitions (task instances as task
 * rows) with the engine's audit hook in the same transaction. A running try's log is copied as it
 * grows, and once more when the try ends.
 *
 * The runs due in one pass are read with Airflow's batch list endpoints (both APIs have them):
 * the queued and running runs of their DAGs, and all their task instances, a page per call, so
 * following N runs costs O(N / page) calls per pass, not 2N. A run missing from the active list has
 * ended (or is gone): it is read on its own, then its task instances, so that they are read after
 * its end. An Airflow without the batch endpoints (404, 405) is polled run by run.
 * @module
 */
import type { AuditEvent } from '../audit/audit-types.ts';
import type { EngineTransition } from '../engine/engine-types.ts';
import { finishRun } from '../engine/sql/finish-run.ts';
import type { TaskState } from '../engine/states.ts';
import { runKey } from './airflow-client.ts';
import type { AirflowEnvironment } from './airflow-environment.ts';
import type { RemoteRun, RemoteTaskInstance } from './airflow-types.ts';
import { copyTaskLog, type FollowedRun } from './copy-task-log.ts';
import type { ExecutorContext } from './executor-context.ts';
import { inParallel } from './in-parallel.ts';
import { taskStateOf } from './task-state-of.ts';

interface Follow {
  nextPollAt: number;
  intervalMs: number;
}

/** What one pass read for all the runs due in an environment. */
interface BatchView {
  readonly active: ReadonlyMap<string, RemoteRun>;
  readonly tis: ReadonlyMap<string, RemoteTaskInstance[]>;
}

/**
 * @example
 * const follower = new AirflowRunFollower(ctx);
 * await follower.followDue(['prod']);
 */
export class AirflowRunFollower {
  readonly #ctx: ExecutorContext;
  readonly #follow = new Map<string, Follow>();
  /** Environments whose Airflow has no batch list endpoints: polled run by run. */
  readonly #noBatch = new Set<string>();

  constructor(ctx: ExecutorContext) {
    this.#ctx = ctx;
  }

  /** Runs followed now. */
  get count(): number {
    return this.#follow.size;
  }

  /** A run Airflow just accepted: polled at once. */
  track(run: { id: string; env: string }): void {
    this.#follow.set(run.id, { nextPollAt: this.#ctx.now(), intervalMs: this.#baseInterval(run.env) });
  }

  /** Polls the running remote runs whose next poll is due. */
  async followDue(envs: readonly string[]): Promise<void> {
    if (!envs.length) return;
    const rows = await this.#ctx.db.kysely
      .selectFrom('runs as r')
      .innerJoin('airflow_runs as a', 'a.run_id', 'r.id')
      .select(['r.id', 'r.env', 'r.dag_id', 'a.remote_run_id', 'a.remote_state'])
      .where('r.state', '=', 'running')
      .where('r.env', 'in', envs)
      .where('a.delivery_state', '=', 'delivered')
      .execute();
    const now = this.#ctx.now();
    const live = new Set(rows.map((r) => r.id));
    for (const id of this.#follow.keys()) if (!live.has(id)) this.#follow.delete(id);
    const due = rows.filter((r) => {
      const f = this.#follow.get(r.id);
      if (!f) {
        this.track(r);
        return true;
      }
      return f.nextPollAt <= now;
    });
    const byEnv = new Map<string, FollowedRun[]>();
    for (const r of due) byEnv.set(r.env, [...(byEnv.get(r.env) ?? []), r]);
    for (const [env, runs] of byEnv) await this.#pollEnv(env, runs);
  }

  /** Reads the due runs of one environment in batch, then writes each run's changes. */
  async #pollEnv(name: string, runs: readonly FollowedRun[]): Promise<void> {
    const env = this.#ctx.environments.get(name);
    if (!env) return;
    let seen: BatchView | undefined;
    if (!this.#noBatch.has(name)) {
      try {
        seen = await readBatch(env, runs);
      } catch (e) {
        if (!missingEndpoint(e)) {
          this.#ctx.onError(e as Error);
          for (const r of runs) this.#backOff(r.id, env, false);
          return;
        }
        this.#noBatch.add(name);
      }
    }
    await inParallel(runs, this.#ctx.concurrency, (r) =>
      this.#poll(r, seen).catch((e: unknown) => this.#ctx.onError(e as Error)),
    );
  }

  #baseInterval(env: string): number {
    return this.#ctx.environments.get(env)?.pollIntervalMs ?? 5_000;
  }

  async #poll(r: FollowedRun, seen: BatchView | undefined): Promise<void> {
    const env = this.#ctx.environments.get(r.env);
    if (!env || !this.#follow.has(r.id)) return;
    let changed = false;
    try {
      const key = runKey(r.dag_id, r.remote_run_id);
      const listed = seen?.active.get(key);
      // Not in the active list: ended or gone. Read on its own, then its tasks, after its end.
      const remote = listed ?? (await env.client.getRun(r.dag_id, r.remote_run_id));
      if (!remote) {
        changed = await this.#end(r, `the remote run ${r.remote_run_id} is gone from Airflow`, [], 'gone');
        return;
      }
      const tis = listed
        ? (seen?.tis.get(key) ?? [])
        : await env.client.taskInstances(r.dag_id, r.remote_run_id);
      const final = remote.state === 'success' || remote.state === 'failed' ? remote.state : undefined;
      changed = await this.#sync(r, tis, remote.state, final);
    } catch (e) {
      this.#ctx.onError(e as Error);
    } finally {
      this.#backOff(r.id, env, changed);
    }
  }

  /** The next poll: at the base interval after a change, else half as long again, up to the cap. */
  #backOff(runId: string, env: AirflowEnvironment, changed: boolean): void {
    const f = this.#follow.get(runId);
    if (!f) return;
    f.intervalMs = changed
      ? env.pollIntervalMs
      : Math.min(env.maxPollIntervalMs, Math.round(f.intervalMs * 1.5));
    f.nextPollAt = this.#ctx.now() + f.intervalMs;
  }

  /** Writes task instance changes (and the run's end), with their audit records, in one transaction. */
  async #sync(
    r: FollowedRun,
    tis: readonly RemoteTaskInstance[],
    remoteState: string,
    final: 'success' | 'failed' | undefined,
  ): Promise<boolean> {
    const now = this.#ctx.now();
    const transitions: EngineTransition[] = [];
    // Most polls find nothing new: a read, and no write transaction (nor its fsync) for them.
    if (!final && !(await this.#differs(r, tis, remoteState))) {
      return this.#copyLogs(r, tis, []);
    }
    await this.#ctx.db.kysely.transaction().execute(async (trx) => {
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
          transitions.push(runEnded(r, final, error));
        }
      }
      await this.#ctx.record(trx, transitions, []);
    });
    if (final) this.#follow.delete(r.id);
    this.#ctx.onTransitions(transitions);
    const grew = await this.#copyLogs(r, tis, transitions);
    return transitions.length > 0 || grew;
  }

  /** Whether Airflow's view of the run differs from what is stored: a task's state or try, or the run's state. */
  async #differs(r: FollowedRun, tis: readonly RemoteTaskInstance[], remoteState: string): Promise<boolean> {
    if (remoteState !== r.remote_state) return true;
    const stored = await this.#ctx.db.kysely
      .selectFrom('task_instances')
      .select(['task_id', 'state', 'try_number'])
      .where('run_id', '=', r.id)
      .execute();
    const byId = new Map(stored.map((t) => [t.task_id, t]));
    return tis.some((ti) => {
      const old = byId.get(ti.taskId);
      return !old || old.state !== taskStateOf(ti.state) || old.try_number !== ti.tryNumber;
    });
  }

  /** The final log of each try that ended, and what a running try's log gained. True if one grew. */
  async #copyLogs(
    r: FollowedRun,
    tis: readonly RemoteTaskInstance[],
    transitions: readonly EngineTransition[],
  ): Promise<boolean> {
    const copy = (taskId: string, tryNumber: number, state: 'running' | 'success' | 'failed') =>
      copyTaskLog(this.#ctx, r, taskId, tryNumber, state).catch((e: unknown) => {
        this.#ctx.onError(e as Error);
        return 0;
      });
    for (const t of transitions) {
      if (t.kind !== 'task' || !['success', 'failed', 'up_for_retry'].includes(t.to)) continue;
      await copy(t.taskId, t.tryNumber ?? 1, t.to === 'success' ? 'success' : 'failed');
    }
    // A running try's log as it grows: only the lines not copied yet are appended.
    let grew = false;
    for (const ti of tis) {
      if (taskStateOf(ti.state) !== 'running' || ti.tryNumber < 1) continue;
      if ((await copy(ti.taskId, ti.tryNumber, 'running')) > 0) grew = true;
    }
    return grew;
  }

  async #end(r: FollowedRun, error: string, events: AuditEvent[], remoteState: string): Promise<boolean> {
    const now = this.#ctx.now();
    const transitions: EngineTransition[] = [];
    await this.#ctx.db.kysely.transaction().execute(async (trx) => {
      await trx
        .updateTable('airflow_runs')
        .set({ remote_state: remoteState, updated_at: now })
        .where('run_id', '=', r.id)
        .execute();
      if (await finishRun(trx, r.id, 'failed', now, error, ['running'])) {
        transitions.push(runEnded(r, 'failed', error));
      }
      await this.#ctx.record(trx, transitions, events);
    });
    this.#follow.delete(r.id);
    this.#ctx.onTransitions(transitions);
    return transitions.length > 0;
  }
}

/** The active runs of the runs' DAGs and all the runs' task instances: two batch reads (per page). */
async function readBatch(env: AirflowEnvironment, runs: readonly FollowedRun[]): Promise<BatchView> {
  const active = await env.client.activeRuns([...new Set(runs.map((r) => r.dag_id))]);
  // Read after the active list: a run that ends in between shows its tasks ended, and is read on
  // its own at the next pass.
  const tis = await env.client.taskInstancesOfRuns(
    runs.map((r) => ({ dagId: r.dag_id, runId: r.remote_run_id })),
  );
  return { active, tis };
}

/** An Airflow that does not serve the batch endpoints (a proxy that blocks them, an old 2.x). */
function missingEndpoint(e: unknown): boolean {
  const status = (e as { code?: unknown; details?: { status?: unknown } }).details?.status;
  return (e as { code?: unknown }).code === 'AIRFLOW_REFUSED' && (status === 404 || status === 405);
}

function runEnded(r: FollowedRun, to: 'success' | 'failed', error: string | null): EngineTransition {
  return { kind: 'run', runId: r.id, env: r.env, dagId: r.dag_id, from: 'running', to, error };
}

function taskTransition(
  r: FollowedRun,
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
