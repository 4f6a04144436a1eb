/** Read-side queries for runs, their task instances and logs: shared by the CLI and the HTTP API. @module */
import { AirclutchError } from '../../lib/errors.ts';
import type { RunState } from '../states.ts';
import type { Queryable } from './executor-db.ts';

export interface RunFilter {
  env?: string | undefined;
  dagId?: string | undefined;
  state?: RunState | undefined;
  limit?: number | undefined;
  /** Only runs created before this run id (ids sort by time): for paging. */
  before?: string | undefined;
}

export async function listRuns(q: Queryable, f: RunFilter = {}) {
  let query = q
    .selectFrom('runs')
    .selectAll()
    .orderBy('id', 'desc')
    .limit(Math.min(f.limit ?? 50, 1_000));
  if (f.env) query = query.where('env', '=', f.env);
  if (f.dagId) query = query.where('dag_id', '=', f.dagId);
  if (f.state) query = query.where('state', '=', f.state);
  if (f.before) query = query.where('id', '<', f.before);
  return query.execute();
}

/** The run with its task instances. Throws `RUN_NOT_FOUND`. */
export async function getRun(q: Queryable, runId: string) {
  const run = await q.selectFrom('runs').selectAll().where('id', '=', runId).executeTakeFirst();
  if (!run)
    throw new AirclutchError(
      'RUN_NOT_FOUND',
      `run ${runId} does not exist: \`airclutch runs list\` shows recent runs`,
    );
  const tasks = await q
    .selectFrom('task_instances')
    .selectAll()
    .where('run_id', '=', runId)
    .orderBy('updated_at')
    .execute();
  return { run, tasks };
}

/** One try of a task, as the run view shows it (times are epoch ms; `finishedAt` null while it runs). */
export interface AttemptView {
  attempt: number;
  state: string;
  startedAt: number;
  finishedAt: number | null;
  error: string | null;
}

/**
 * The attempts of a run's tasks, by task id, oldest try first. Local tries and the tries of an
 * Airflow-bridged run (copied from Airflow with their logs) are rows of the same table.
 */
export async function readAttempts(q: Queryable, runId: string): Promise<Map<string, AttemptView[]>> {
  const rows = await q
    .selectFrom('attempts')
    .select(['task_id', 'try_number', 'state', 'started_at', 'ended_at', 'error'])
    .where('run_id', '=', runId)
    .orderBy('task_id')
    .orderBy('try_number')
    .execute();
  const out = new Map<string, AttemptView[]>();
  for (const r of rows) {
    const list = out.get(r.task_id) ?? [];
    list.push({
      attempt: r.try_number,
      state: r.state,
      startedAt: Number(r.started_at),
      finishedAt: r.ended_at === null ? null : Number(r.ended_at),
      error: r.error,
    });
    out.set(r.task_id, list);
  }
  return out;
}

/** Log lines of a run (or one task) after the cursor `afterId`, oldest first. */
export async function readLogs(
  q: Queryable,
  runId: string,
  options: { taskId?: string | undefined; afterId?: number; limit?: number } = {},
) {
  let query = q
    .selectFrom('task_logs as l')
    .innerJoin('attempts as a', 'a.id', 'l.attempt_id')
    .select(['l.id', 'l.task_id', 'a.try_number', 'l.ts', 'l.stream', 'l.line'])
    .where('l.run_id', '=', runId)
    .where('l.id', '>', options.afterId ?? 0)
    .orderBy('l.id')
    .limit(options.limit ?? 5_000);
  if (options.taskId) query = query.where('l.task_id', '=', options.taskId);
  return query.execute();
}
