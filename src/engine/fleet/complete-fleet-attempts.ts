/**
 * A fleet worker's completions, in its cycle's transaction, in a fixed number of statements
 * whatever their count: the runs locked (`SELECT … FOR NO KEY UPDATE`, in id order, so two
 * completions of one run serialise and two workers cannot deadlock; not `FOR UPDATE`, which also
 * blocks the key-share lock that every insert referencing the run takes, so another worker's
 * claim, inserting an attempt of the run, waited for this whole transaction); every attempt's
 * fenced update and its task instance's in one statement (`WHERE id AND lease_token AND state = 'running'`: an attempt whose
 * lease was lost is refused); then, per run, only the task instances the completions touch (their
 * downstream tasks and those tasks' upstreams), and a COUNT to see whether the run is over.
 * @module
 */
import { sql, type Transaction } from 'kysely';
import type { Database, RunsTable } from '../../store/database.ts';
import { afterFailure } from '../after-failure.ts';
import type { DagSource, EngineTransition } from '../engine-types.ts';
import { chunks } from '../sql/executor-db.ts';
import { finishRun } from '../sql/finish-run.ts';
import { moveTaskTransitions } from '../sql/move-tasks.ts';
import { isFinalRunState, isFinalTaskState, type TaskState } from '../states.ts';
import type { AttemptResult } from '../task-runner.ts';
import { downstreamOf, settleDownstream } from './settle-downstream.ts';

export interface FleetCompletion {
  readonly attemptId: number;
  readonly leaseToken: string;
  readonly runId: string;
  readonly taskId: string;
  readonly tryNumber: number;
  readonly maxTries: number;
  readonly workerId: string;
  readonly result: AttemptResult;
  /** Draining: the attempt is handed back, and the task runs again without using up a try. */
  readonly handBack?: boolean;
}

export interface FleetCompletionOutcome {
  readonly transitions: EngineTransition[];
  /** Completions whose lease was lost (fencing refused them). */
  readonly refused: Array<FleetCompletion & { env: string; dagId: string }>;
  /** DAGs a run of which ended: their queued runs may start now. */
  readonly freedDags: Array<{ env: string; dagId: string }>;
  /** When the first retry these completions put off (a backoff) is due, if any. */
  nextRetryAt: number | null;
}

type Run = Pick<RunsTable, 'id' | 'env' | 'dag_id' | 'state'>;

interface Planned {
  readonly c: FleetCompletion;
  readonly run: Run;
  readonly taskState: TaskState;
  readonly retryAt: number | null;
  readonly error: string | null;
}

export async function completeFleetAttempts(
  trx: Transaction<Database>,
  dags: DagSource,
  completions: readonly FleetCompletion[],
  now: number,
): Promise<FleetCompletionOutcome> {
  const out: FleetCompletionOutcome = { transitions: [], refused: [], freedDags: [], nextRetryAt: null };
  if (!completions.length) return out;
  const runIds = [...new Set(completions.map((c) => c.runId))].sort();
  const { rows: runs } = await sql<Run>`
    select id, env, dag_id, state from runs where id in (${sql.join(runIds)}) order by id for no key update`.execute(
    trx,
  );
  const runOf = new Map(runs.map((r) => [r.id, r]));
  const planned = completions.flatMap((c) => {
    const run = runOf.get(c.runId);
    return run ? [plan(c, run, dags, now)] : [];
  });
  const ended = await endAttempts(trx, planned, now);
  const byRun = new Map<string, Planned[]>();
  for (const p of planned) {
    if (!ended.has(p.c.attemptId)) {
      out.refused.push({ ...p.c, env: p.run.env, dagId: p.run.dag_id });
      continue;
    }
    byRun.set(p.run.id, [...(byRun.get(p.run.id) ?? []), p]);
  }
  const moves: EngineTransition[] = [];
  const toCount: Run[] = [];
  for (const [runId, ps] of byRun) {
    const run = runOf.get(runId)!;
    const base = { runId, env: run.env, dagId: run.dag_id };
    const known = new Map<string, TaskState>();
    const finished: string[] = [];
    for (const p of ps) {
      out.transitions.push({
        kind: 'task',
        ...base,
        taskId: p.c.taskId,
        from: 'running',
        to: p.taskState,
        tryNumber: p.c.tryNumber,
        error: p.error,
      });
      known.set(p.c.taskId, p.taskState);
      if (isFinalTaskState(p.taskState)) finished.push(p.c.taskId);
      // A retry due now (shutdown, a reclaimed attempt without backoff) is queued at once.
      if (p.taskState === 'up_for_retry' && p.retryAt !== null && p.retryAt <= now)
        moves.push({ kind: 'task', ...base, taskId: p.c.taskId, from: 'up_for_retry', to: 'queued' });
      else if (p.taskState === 'up_for_retry' && p.retryAt !== null)
        out.nextRetryAt = Math.min(out.nextRetryAt ?? p.retryAt, p.retryAt);
    }
    const dag = dags.find(run.env, run.dag_id)?.dag;
    if (dag && finished.some((t) => downstreamOf(dag, t).length) && !isFinalRunState(run.state)) {
      for (const t of await settleDownstream(trx, runId, dag, finished, known))
        moves.push({ kind: 'task', ...base, taskId: t.taskId, from: t.from, to: t.to });
    }
    if (finished.length && run.state === 'running') toCount.push(run);
  }
  await moveTaskTransitions(trx, moves, now);
  out.transitions.push(...moves);
  await finishRuns(trx, toCount, now, out);
  return out;
}

function plan(c: FleetCompletion, run: Run, dags: DagSource, now: number): Planned {
  const r = c.result;
  if (r.state === 'success') return { c, run, taskState: 'success', retryAt: null, error: null };
  const task = dags.find(run.env, run.dag_id)?.dag.tasks.get(c.taskId);
  const reason = isFinalRunState(run.state) ? 'cancelled' : r.reason;
  const next = afterFailure(task, c.tryNumber, c.maxTries + (c.handBack ? 1 : 0), reason, now);
  return { c, run, taskState: next.state, retryAt: next.retryAt, error: r.error };
}

/** The fenced updates, attempts and task instances together; returns the ids that ended. */
async function endAttempts(
  trx: Transaction<Database>,
  planned: readonly Planned[],
  now: number,
): Promise<Set<number>> {
  const ended = new Set<number>();
  for (const part of chunks(planned, 400)) {
    const values = sql.join(
      part.map(
        (p) =>
          sql`(${p.c.attemptId}::bigint, ${p.c.leaseToken}::text, ${p.run.id}::text, ${p.c.taskId}::text, ${p.c.result.state}::text, ${p.taskState}::text, ${p.error}::text, ${p.c.result.exitCode ?? null}::integer, ${p.c.result.state === 'success' ? p.c.result.outputJson : null}::text, ${p.retryAt}::bigint, ${p.c.handBack ? 1 : 0}::integer)`,
      ),
    );
    const { rows } = await sql<{ id: string | number }>`
      with v (id, token, run_id, task_id, attempt_state, task_state, error, exit_code, output, next_try_at, bump) as (
        values ${values}
      ), a as (
        update attempts set state = v.attempt_state, ended_at = ${now}, error = v.error, exit_code = v.exit_code
        from v where attempts.id = v.id and attempts.lease_token = v.token and attempts.state = 'running'
        returning attempts.id
      ), t as (
        update task_instances set state = v.task_state, output = v.output, error = v.error,
          next_try_at = v.next_try_at, updated_at = ${now}, max_tries = task_instances.max_tries + v.bump
        from v
        where task_instances.run_id = v.run_id and task_instances.task_id = v.task_id
          and task_instances.state = 'running' and v.id in (select id from a)
      )
      select id from a`.execute(trx);
    for (const r of rows) ended.add(Number(r.id));
  }
  return ended;
}

/** One COUNT over the touched runs; each run with nothing left open ends. */
async function finishRuns(
  trx: Transaction<Database>,
  runs: readonly Run[],
  now: number,
  out: FleetCompletionOutcome,
): Promise<void> {
  if (!runs.length) return;
  const { rows } = await sql<{ run_id: string; open: string; bad: string }>`
    select run_id,
      count(*) filter (where state not in ('success', 'failed', 'upstream_failed', 'skipped', 'cancelled')) as open,
      count(*) filter (where state in ('failed', 'upstream_failed')) as bad
    from task_instances where run_id in (${sql.join(runs.map((r) => r.id))}) group by run_id`.execute(trx);
  for (const r of rows) {
    if (Number(r.open) > 0) continue;
    const run = runs.find((x) => x.id === r.run_id)!;
    const state = Number(r.bad) > 0 ? 'failed' : 'success';
    if (!(await finishRun(trx, run.id, state, now))) continue;
    out.transitions.push({
      kind: 'run',
      runId: run.id,
      env: run.env,
      dagId: run.dag_id,
      from: 'running',
      to: state,
    });
    out.freedDags.push({ env: run.env, dagId: run.dag_id });
  }
}
