/** Ends an attempt and its task instance: running → success | failed | up_for_retry | cancelled. @module */

import { sql } from 'kysely';
import type { TaskState } from '../states.ts';
import { chunks, isPostgres, type Queryable, rawQuery, tuples } from './executor-db.ts';

export interface AttemptCompletion {
  readonly attemptId: number;
  readonly runId: string;
  readonly taskId: string;
  readonly attemptState: 'success' | 'failed';
  readonly taskState: TaskState;
  readonly error: string | null;
  readonly exitCode: number | null;
  readonly outputJson: string | null;
  readonly nextTryAt: number | null;
}

/**
 * Returns false when the attempt had already ended (another process recovered it, or it was
 * completed before): an attempt never completes twice, and then the task instance is left alone.
 */
export async function completeAttempt(q: Queryable, c: AttemptCompletion, now: number): Promise<boolean> {
  if (isPostgres(q)) {
    // One round trip: the task instance moves only if the attempt did.
    const { rows } = await sql<{ ended: string }>`
      with a as (
        update attempts set state = ${c.attemptState}, ended_at = ${now}, error = ${c.error}, exit_code = ${c.exitCode}
        where id = ${c.attemptId} and state = 'running' returning id
      ), t as (
        update task_instances set state = ${c.taskState}, output = ${c.outputJson}, error = ${c.error},
          next_try_at = ${c.nextTryAt}, updated_at = ${now}
        where run_id = ${c.runId} and task_id = ${c.taskId} and state = 'running' and exists (select 1 from a)
      )
      select count(*) as ended from a`.execute(q);
    return Number(rows[0]?.ended) === 1;
  }
  const res = await q
    .updateTable('attempts')
    .set({ state: c.attemptState, ended_at: now, error: c.error, exit_code: c.exitCode })
    .where('id', '=', c.attemptId)
    .where('state', '=', 'running')
    .executeTakeFirst();
  if (Number(res.numUpdatedRows) !== 1) return false;
  await q
    .updateTable('task_instances')
    .set({
      state: c.taskState,
      output: c.outputJson,
      error: c.error,
      next_try_at: c.nextTryAt,
      updated_at: now,
    })
    .where('run_id', '=', c.runId)
    .where('task_id', '=', c.taskId)
    .where('state', '=', 'running')
    .execute();
  return true;
}

/**
 * Ends the attempts of one engine cycle; returns the ids of those that were still running (the
 * others, and their task instances, are left alone, as `completeAttempt` does). On SQLite a burst of
 * completions is two statements; the in-process executor on PostgreSQL completes in
 * `completeAndClaim` instead, and a fleet worker in `completeFleetAttempts`, so there this is one
 * `completeAttempt` each.
 */
export async function completeAttempts(
  q: Queryable,
  cs: readonly AttemptCompletion[],
  now: number,
): Promise<Set<number>> {
  if (!isPostgres(q)) return completeAttemptsSqlite(q, cs, now);
  const ended = new Set<number>();
  for (const c of cs) if (await completeAttempt(q, c, now)) ended.add(c.attemptId);
  return ended;
}

/**
 * SQLite: two statements per cycle whatever its size (the attempts, then the task instances of those
 * that ended), written as text with `UPDATE … FROM (VALUES …)`.
 */
async function completeAttemptsSqlite(
  q: Queryable,
  cs: readonly AttemptCompletion[],
  now: number,
): Promise<Set<number>> {
  const ended = new Set<number>();
  for (const part of chunks(cs, 200)) {
    const ap: unknown[] = [now];
    for (const c of part) ap.push(c.attemptId, c.attemptState, c.error, c.exitCode);
    const rows = await rawQuery<{ id: number }>(
      q,
      `update attempts set state = v.column2, ended_at = ?, error = v.column3, exit_code = v.column4
       from (values ${tuples(part.length, 4)}) as v
       where attempts.id = v.column1 and attempts.state = 'running' returning attempts.id`,
      ap,
    );
    if (rows.length === 0) continue;
    const endedHere = new Set(rows.map((r) => Number(r.id)));
    const tp: unknown[] = [now];
    for (const c of part) {
      if (!endedHere.has(c.attemptId)) continue;
      ended.add(c.attemptId);
      tp.push(c.runId, c.taskId, c.taskState, c.outputJson, c.error, c.nextTryAt);
    }
    await rawQuery(
      q,
      `update task_instances set state = v.column3, output = v.column4, error = v.column5,
         next_try_at = v.column6, updated_at = ?
       from (values ${tuples(endedHere.size, 6)}) as v
       where task_instances.run_id = v.column1 and task_instances.task_id = v.column2
         and task_instances.state = 'running'`,
      tp,
    );
  }
  return ended;
}
