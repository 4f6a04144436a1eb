/** The task side of resuming a run that a previous process left running. @module */
import type { Transaction } from 'kysely';
import type { Database, RunsTable } from '../store/database.ts';
import type { EngineTransition } from './engine-types.ts';
import { taskEvents } from './plan-completion.ts';
import { RunTracker } from './run-tracker.ts';
import { finishRun } from './sql/finish-run.ts';
import { moveTaskTransitions } from './sql/move-tasks.ts';

/**
 * Rebuilds the run's tracker from its task instances: fails the unstarted tasks the DAG no longer
 * has, settles what became ready, and finishes the run when nothing is left. Appends every change
 * to `transitions`.
 */
export async function resumeTasks(
  trx: Transaction<Database>,
  row: RunsTable,
  dag: RunTracker['dag'],
  now: number,
  transitions: EngineTransition[],
): Promise<RunTracker> {
  const tis = await trx.selectFrom('task_instances').selectAll().where('run_id', '=', row.id).execute();
  const base = { runId: row.id, env: row.env, dagId: row.dag_id };
  const missing: EngineTransition[] = tis
    .filter((t) => !dag.tasks.has(t.task_id) && ['pending', 'queued', 'up_for_retry'].includes(t.state))
    .map((t) => ({ kind: 'task', ...base, taskId: t.task_id, from: t.state, to: 'failed' }));
  await moveTaskTransitions(trx, missing, now);
  transitions.push(...missing);
  for (const m of missing) {
    const ti = tis.find((t) => m.kind === 'task' && t.task_id === m.taskId);
    if (ti) ti.state = 'failed';
  }
  const tracker = RunTracker.fromRows(row, dag, tis);
  const settled = taskEvents(tracker, tracker.settleAll());
  await moveTaskTransitions(trx, settled, now);
  transitions.push(...settled);
  if (tracker.isComplete) {
    const state = tracker.outcome();
    if (await finishRun(trx, row.id, state, now))
      transitions.push({ kind: 'run', ...base, from: 'running', to: state });
  }
  return tracker;
}
