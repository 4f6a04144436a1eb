/**
 * A fleet worker's completions, in its cycle's transaction. Per completion: the fenced attempt
 * update (`WHERE id AND lease_token AND state = 'running'`; no row means the lease was lost and the
 * completion is refused); the run row locked (`FOR UPDATE`) so two completions of one run serialise;
 * only the touched task instances loaded; the run finished when a COUNT finds nothing left open.
 * @module
 */
import { sql, type Transaction } from 'kysely';
import type { Database } from '../../store/database.ts';
import { afterFailure } from '../after-failure.ts';
import type { DagSource, EngineTransition } from '../engine-types.ts';
import { finishRun } from '../sql/finish-run.ts';
import { moveTaskTransitions } from '../sql/move-tasks.ts';
import { isFinalRunState, isFinalTaskState, type TaskState } from '../states.ts';
import type { AttemptResult } from '../task-runner.ts';
import { settleDownstream } from './settle-downstream.ts';

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
}

export async function completeFleetAttempts(
  trx: Transaction<Database>,
  dags: DagSource,
  completions: readonly FleetCompletion[],
  now: number,
): Promise<FleetCompletionOutcome> {
  const out: FleetCompletionOutcome = { transitions: [], refused: [], freedDags: [] };
  const byRun = new Map<string, FleetCompletion[]>();
  for (const c of completions) byRun.set(c.runId, [...(byRun.get(c.runId) ?? []), c]);
  // Runs are locked in id order, so two workers completing in the same runs cannot deadlock.
  for (const runId of [...byRun.keys()].sort())
    await completeInRun(trx, dags, runId, byRun.get(runId)!, now, out);
  return out;
}

async function completeInRun(
  trx: Transaction<Database>,
  dags: DagSource,
  runId: string,
  cs: readonly FleetCompletion[],
  now: number,
  out: FleetCompletionOutcome,
): Promise<void> {
  const { rows } = await sql<{ env: string; dag_id: string; state: Database['runs']['state'] }>`
    select env, dag_id, state from runs where id = ${runId} for update`.execute(trx);
  const run = rows[0];
  if (!run) return;
  const base = { runId, env: run.env, dagId: run.dag_id };
  const dag = dags.find(run.env, run.dag_id)?.dag;
  const known = new Map<string, TaskState>();
  const finished: string[] = [];
  const moves: EngineTransition[] = [];
  for (const c of cs) {
    const r = c.result;
    let taskState: TaskState = 'success';
    let retryAt: number | null = null;
    if (r.state === 'failed') {
      const task = dag?.tasks.get(c.taskId);
      const reason = isFinalRunState(run.state) ? 'cancelled' : r.reason;
      const next = afterFailure(task, c.tryNumber, c.maxTries + (c.handBack ? 1 : 0), reason, now);
      taskState = next.state;
      retryAt = next.retryAt;
    }
    const error = r.state === 'failed' ? r.error : null;
    const fenced = await trx
      .updateTable('attempts')
      .set({
        state: r.state,
        ended_at: now,
        error,
        exit_code: r.exitCode ?? null,
      })
      .where('id', '=', c.attemptId)
      .where('lease_token', '=', c.leaseToken)
      .where('state', '=', 'running')
      .executeTakeFirst();
    if (Number(fenced.numUpdatedRows) !== 1) {
      out.refused.push({ ...c, env: run.env, dagId: run.dag_id });
      continue;
    }
    await trx
      .updateTable('task_instances')
      .set({
        state: taskState,
        output: r.state === 'success' ? r.outputJson : null,
        error,
        next_try_at: retryAt,
        updated_at: now,
        ...(c.handBack ? { max_tries: sql`max_tries + 1` } : {}),
      })
      .where('run_id', '=', runId)
      .where('task_id', '=', c.taskId)
      .where('state', '=', 'running')
      .execute();
    out.transitions.push({
      kind: 'task',
      ...base,
      taskId: c.taskId,
      from: 'running',
      to: taskState,
      tryNumber: c.tryNumber,
      error,
    });
    known.set(c.taskId, taskState);
    if (isFinalTaskState(taskState)) finished.push(c.taskId);
    // A retry due now (shutdown, a reclaimed attempt without backoff) is queued at once.
    if (taskState === 'up_for_retry' && retryAt !== null && retryAt <= now)
      moves.push({ kind: 'task', ...base, taskId: c.taskId, from: 'up_for_retry', to: 'queued' });
  }
  if (dag && finished.length && !isFinalRunState(run.state)) {
    for (const t of await settleDownstream(trx, runId, dag, finished, known))
      moves.push({ kind: 'task', ...base, taskId: t.taskId, from: t.from, to: t.to });
  }
  await moveTaskTransitions(trx, moves, now);
  out.transitions.push(...moves);
  if (!finished.length || run.state !== 'running') return;
  const left = await sql<{ open: string; bad: string }>`
    select count(*) filter (where state not in ('success', 'failed', 'upstream_failed', 'skipped', 'cancelled')) as open,
      count(*) filter (where state in ('failed', 'upstream_failed')) as bad
    from task_instances where run_id = ${runId}`.execute(trx);
  const counts = left.rows[0];
  if (!counts || Number(counts.open) > 0) return;
  const state = Number(counts.bad) > 0 ? 'failed' : 'success';
  if (!(await finishRun(trx, runId, state, now))) return;
  out.transitions.push({ kind: 'run', ...base, from: 'running', to: state });
  out.freedDags.push({ env: run.env, dagId: run.dag_id });
}
