/**
 * Starts queued runs from any process, with `maxActiveRuns` enforced in SQL: a transaction-scoped
 * advisory lock per DAG, then a count of its running runs, so two workers never both start the run
 * that would exceed the limit. The same checks as the in-process executor: a decision record and the
 * decided DAG version, or the run is refused (`failed`, its tasks cancelled).
 * @module
 */

import { sql, type Transaction } from 'kysely';
import type { Database, RunsTable } from '../../store/database.ts';
import type { DagSource, EngineTransition } from '../engine-types.ts';
import { initialTasks } from '../initial-tasks.ts';
import { cancelTasks } from '../sql/cancel-tasks.ts';
import { findStartRefusal } from '../sql/find-start-refusal.ts';
import { finishRun } from '../sql/finish-run.ts';
import { startRun } from '../sql/start-run.ts';

export interface StartRunsOptions {
  readonly dags: DagSource;
  readonly defaultMaxActiveRuns: number;
  readonly isExternal: (run: { env: string; dag_id: string }) => boolean;
  readonly now: number;
  /** Most runs looked at in one call. */
  readonly limit?: number;
}

/** Returns the transitions (run starts, refusals, first tasks queued) for the caller's hooks. */
export async function startQueuedRuns(
  trx: Transaction<Database>,
  o: StartRunsOptions,
): Promise<EngineTransition[]> {
  const { rows } = await sql<RunsTable>`
    select * from runs where state = 'queued' order by created_at, id limit ${o.limit ?? 50}
    for update skip locked`.execute(trx);
  const out: EngineTransition[] = [];
  const full = new Set<string>();
  for (const row of rows) {
    const key = `${row.env}/${row.dag_id}`;
    if (full.has(key) || o.isExternal(row)) continue;
    const found = o.dags.find(row.env, row.dag_id);
    const base = { runId: row.id, env: row.env, dagId: row.dag_id };
    const refusal = await findStartRefusal(trx, row, found);
    if (refusal || !found) {
      const error = `${refusal!.code}: ${refusal!.message}`;
      if (!(await finishRun(trx, row.id, 'failed', o.now, error, ['queued']))) continue;
      out.push({ kind: 'run', ...base, from: 'queued', to: 'failed', error, code: refusal!.code });
      for (const t of await cancelTasks(trx, row.id, o.now))
        out.push({ kind: 'task', ...base, taskId: t.taskId, from: t.from, to: 'cancelled' });
      continue;
    }
    await sql`select pg_advisory_xact_lock(hashtextextended('airclutch:dag:' || current_schema() || ':' || ${key}, 0))`.execute(
      trx,
    );
    const active = await sql<{ n: string }>`
      select count(*) as n from runs where env = ${row.env} and dag_id = ${row.dag_id} and state = 'running'`.execute(
      trx,
    );
    const max = found.dag.options.maxActiveRuns ?? o.defaultMaxActiveRuns;
    if (Number(active.rows[0]?.n ?? 0) >= max) {
      full.add(key);
      continue;
    }
    const { initial, tasks } = initialTasks(row, found.dag);
    if (!(await startRun(trx, row.id, tasks, o.now))) continue;
    out.push({ kind: 'run', ...base, from: 'queued', to: 'running' });
    for (const t of initial) out.push({ kind: 'task', ...base, taskId: t.taskId, from: t.from, to: t.to });
  }
  return out;
}
