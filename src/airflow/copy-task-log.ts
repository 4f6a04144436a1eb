/**
 * Copies a try's log from Airflow into the run's log, as one attempt, so `runs logs` (gated by
 * `readLogs`, `-f` following it) shows it like a local task's log.
 * @module
 */
import { insertLogs } from '../engine/sql/insert-logs.ts';
import type { ExecutorContext } from './executor-context.ts';

/** A delivered run as the follower knows it. */
export interface FollowedRun {
  readonly id: string;
  readonly env: string;
  readonly dag_id: string;
  readonly remote_run_id: string;
  /** Airflow's run state as last stored. */
  readonly remote_state?: string | null;
}

/**
 * Called at each poll while the try runs and once when it ends: Airflow's log of a try only grows,
 * so only the lines past those already copied are appended (none twice), and the attempt takes the
 * try's end state. Returns how many lines were appended.
 *
 * @example
 * const added = await copyTaskLog(ctx, run, 'extract', 1, 'running');
 */
export async function copyTaskLog(
  ctx: ExecutorContext,
  r: FollowedRun,
  taskId: string,
  tryNumber: number,
  state: 'running' | 'success' | 'failed',
): Promise<number> {
  const env = ctx.environments.get(r.env);
  if (!env) return 0;
  const text = await env.client.taskLog(r.dag_id, r.remote_run_id, taskId, tryNumber);
  const lines = text.split('\n').filter((l) => l.length > 0);
  const now = ctx.now();
  const ended = state === 'running' ? null : now;
  if (state === 'running' && !(await mayGrow(ctx, r.id, taskId, tryNumber, lines.length))) return 0;
  return ctx.db.kysely.transaction().execute(async (trx) => {
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

/**
 * Whether a running try's log has lines not copied yet (or its attempt is not recorded yet): a
 * read, so that a poll that finds nothing new opens no write transaction.
 */
async function mayGrow(
  ctx: ExecutorContext,
  runId: string,
  taskId: string,
  tryNumber: number,
  lines: number,
): Promise<boolean> {
  const attempt = await ctx.db.kysely
    .selectFrom('attempts')
    .select(['id', 'state'])
    .where('run_id', '=', runId)
    .where('task_id', '=', taskId)
    .where('try_number', '=', tryNumber)
    .executeTakeFirst();
  if (!attempt) return true;
  if (attempt.state !== 'running') return false;
  const copied = await ctx.db.kysely
    .selectFrom('task_logs')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('attempt_id', '=', attempt.id)
    .executeTakeFirstOrThrow();
  return lines > Number(copied.n);
}
