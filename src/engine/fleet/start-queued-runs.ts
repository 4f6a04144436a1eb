/**
 * Starts queued runs from any process, with `maxActiveRuns` enforced in SQL: a transaction-scoped
 * advisory lock per DAG, then a count of its running runs, so two workers never both start the run
 * that would exceed the limit. The same checks as the in-process executor: a decision record and the
 * decided DAG version, or the run is refused (`failed`, its tasks cancelled).
 *
 * Two statements whatever the number of runs, because each is a round trip on the path from a run
 * being queued to its first task running: the first locks the queued runs (`SKIP LOCKED`), looks up
 * their decision records and takes their DAGs' advisory locks; the second, whose snapshot is taken
 * after those locks, counts each DAG's running runs, starts the runs that fit and inserts their task
 * instances. The count must be a later statement than the locks: a statement sees the database as it
 * was when the statement began, before a lock it takes itself.
 *
 * The second statement also claims first tasks for the calling worker (`claim`): up to its free
 * capacity, from its queues without a cluster-wide limit, they are inserted `running` with their
 * attempts, as `claimReady` would have claimed them a statement later. The rest are inserted `queued`.
 * @module
 */

import { sql, type Transaction } from 'kysely';
import type { Database, RunsTable } from '../../store/database.ts';
import { PREPARED } from '../../store/pipelined-client.ts';
import type { DagSource, EngineTransition } from '../engine-types.ts';
import { initialTasks } from '../initial-tasks.ts';
import { cancelTasks } from '../sql/cancel-tasks.ts';
import { decidedSql, startRefusal } from '../sql/find-start-refusal.ts';
import { finishRun } from '../sql/finish-run.ts';
import type { FleetClaim } from './claim-ready.ts';

export interface StartRunsOptions {
  readonly dags: DagSource;
  readonly defaultMaxActiveRuns: number;
  readonly isExternal: (run: { env: string; dag_id: string }) => boolean;
  readonly now: number;
  /** Most runs looked at in one call. */
  readonly limit?: number;
  /** First tasks the caller claims as the runs start. */
  readonly claim?: DirectClaim;
}

export interface DirectClaim {
  readonly workerId: string;
  /** Queues the worker serves that have no cluster-wide limit (those are claimed under their lock). */
  readonly queues: readonly string[];
  readonly capacity: number;
  readonly leaseMs: number;
}

export interface StartedRuns {
  readonly transitions: EngineTransition[];
  /** First tasks claimed for `claim.workerId` (their `queued → running` is not in `transitions`). */
  readonly claims: FleetClaim[];
}

/** What starting a run needs of its row (named columns: a prepared statement outlives migrations). */
type QueuedRun = Pick<
  RunsTable,
  'id' | 'env' | 'dag_id' | 'dag_version' | 'params' | 'logical_date' | 'decision_seq'
>;

interface Candidate {
  readonly row: QueuedRun;
  readonly maxActive: number;
  /** 1 for the DAG's oldest queued run in this batch, 2 for the next… */
  readonly ord: number;
  readonly initial: ReturnType<typeof initialTasks>['initial'];
}

/** Returns the transitions (run starts, refusals, first tasks queued) for the caller's hooks, and the claims. */
export async function startQueuedRuns(trx: Transaction<Database>, o: StartRunsOptions): Promise<StartedRuns> {
  const rows = await lockQueuedRuns(trx, o.limit ?? 50);
  const out: EngineTransition[] = [];
  const open = new Set(o.claim?.queues);
  let room = o.claim?.capacity ?? 0;
  const candidates: Candidate[] = [];
  const tasks = {
    run: [] as string[],
    task: [] as string[],
    state: [] as string[],
    max: [] as number[],
    queue: [] as string[],
  };
  const ordOf = new Map<string, number>();
  for (const { decided, ...row } of rows) {
    if (o.isExternal(row)) continue;
    const found = o.dags.find(row.env, row.dag_id);
    const base = { runId: row.id, env: row.env, dagId: row.dag_id };
    const refusal = startRefusal(row, decided, found);
    if (refusal || !found) {
      const error = `${refusal!.code}: ${refusal!.message}`;
      if (!(await finishRun(trx, row.id, 'failed', o.now, error, ['queued']))) continue;
      out.push({ kind: 'run', ...base, from: 'queued', to: 'failed', error, code: refusal!.code });
      for (const t of await cancelTasks(trx, row.id, o.now))
        out.push({ kind: 'task', ...base, taskId: t.taskId, from: t.from, to: 'cancelled' });
      continue;
    }
    const key = `${row.env}/${row.dag_id}`;
    const ord = (ordOf.get(key) ?? 0) + 1;
    ordOf.set(key, ord);
    const maxActive = found.dag.options.maxActiveRuns ?? o.defaultMaxActiveRuns;
    if (ord > maxActive) continue;
    const { initial, tasks: rowsOf } = initialTasks(row, found.dag);
    candidates.push({ row, maxActive, ord, initial });
    for (const t of rowsOf) {
      const claim = t.state === 'queued' && room > 0 && open.has(t.queue ?? 'default');
      if (claim) room--;
      tasks.run.push(row.id);
      tasks.task.push(t.taskId);
      tasks.state.push(claim ? 'running' : t.state);
      tasks.max.push(t.maxTries);
      tasks.queue.push(t.queue ?? 'default');
    }
  }
  if (!candidates.length) return { transitions: out, claims: [] };
  const leaseMs = o.claim?.leaseMs ?? 0;
  const { rows: started } = await sql<{
    id: string;
    run_id: string;
    task_id: string | null;
    try_number: number | null;
    max_tries: number | null;
    queue: string | null;
    lease_token: string | null;
  }>`${sql.raw(PREPARED)}
    with v (id, env, dag_id, max_active, ord) as (
      select * from unnest(${candidates.map((c) => c.row.id)}::text[], ${candidates.map((c) => c.row.env)}::text[],
        ${candidates.map((c) => c.row.dag_id)}::text[], ${candidates.map((c) => c.maxActive)}::int[],
        ${candidates.map((c) => c.ord)}::int[])
    ), active as (
      select env, dag_id, count(*)::int as n from runs
      where state = 'running' and (env, dag_id) in (select env, dag_id from v) group by env, dag_id
    ), s as (
      update runs set state = 'running', started_at = ${o.now}
      from v left join active a on a.env = v.env and a.dag_id = v.dag_id
      where runs.id = v.id and runs.state = 'queued' and v.ord <= v.max_active - coalesce(a.n, 0)
      returning runs.id
    ), t as (
      insert into task_instances (run_id, task_id, state, try_number, max_tries, updated_at, queue)
      select x.run_id, x.task_id, x.state, case when x.state = 'running' then 1 else 0 end, x.max_tries,
        ${o.now}::bigint, x.queue
      from unnest(${tasks.run}::text[], ${tasks.task}::text[], ${tasks.state}::text[], ${tasks.max}::int[],
        ${tasks.queue}::text[]) as x (run_id, task_id, state, max_tries, queue)
      where x.run_id in (select id from s)
      returning run_id, task_id, state, try_number, max_tries, queue
    ), a as (
      insert into attempts (run_id, task_id, try_number, state, started_at, worker_id, heartbeat_at,
        lease_expires_at, lease_token)
      select run_id, task_id, try_number, 'running', ${o.now}::bigint, ${o.claim?.workerId ?? ''}::text,
        ${o.now}::bigint, ${o.now + leaseMs}::bigint, gen_random_uuid()::text
      from t where state = 'running'
      returning id, run_id, task_id, lease_token
    )
    select s.id, s.id as run_id, null as task_id, null::int as try_number, null::int as max_tries, null as queue, null as lease_token
    from s
    union all
    select a.id::text, a.run_id, a.task_id, t.try_number, t.max_tries, t.queue, a.lease_token
    from a join t on t.run_id = a.run_id and t.task_id = a.task_id`.execute(trx);
  const ids = new Set(started.filter((r) => r.task_id === null).map((r) => r.id));
  const rowOf = new Map(candidates.map((c) => [c.row.id, c.row]));
  const claims: FleetClaim[] = [];
  for (const r of started) {
    if (r.task_id === null) continue;
    const [attemptId, run] = [Number(r.id), rowOf.get(r.run_id)!];
    claims.push({
      attemptId,
      runId: run.id,
      taskId: r.task_id,
      tryNumber: r.try_number!,
      maxTries: r.max_tries!,
      leaseToken: r.lease_token!,
      queue: r.queue!,
      env: run.env,
      dagId: run.dag_id,
      queuedAt: o.now,
      run,
    });
  }
  for (const c of candidates) {
    if (!ids.has(c.row.id)) continue;
    const base = { runId: c.row.id, env: c.row.env, dagId: c.row.dag_id };
    out.push({ kind: 'run', ...base, from: 'queued', to: 'running' });
    for (const t of c.initial) out.push({ kind: 'task', ...base, taskId: t.taskId, from: t.from, to: t.to });
  }
  return { transitions: out, claims };
}

/**
 * The oldest queued runs no other worker holds, each with whether its decision record exists, and
 * the advisory lock of every DAG among them, taken in key order (two workers never wait on each
 * other's locks in a cycle).
 */
async function lockQueuedRuns(
  trx: Transaction<Database>,
  limit: number,
): Promise<Array<QueuedRun & { decided: boolean }>> {
  const { rows } = await sql<QueuedRun & { decided: boolean; locks: unknown }>`${sql.raw(PREPARED)}
    with q as materialized (
      select id, env, dag_id, dag_version, params, logical_date, decision_seq, created_at from runs
      where state = 'queued' order by created_at, id limit ${limit}
      for update skip locked
    ), l as (
      select pg_advisory_xact_lock(hashtextextended('airclutch:dag:' || current_schema() || ':' || d.k, 0))
      from (select distinct env || '/' || dag_id as k from q order by k) d
    )
    select q.id, q.env, q.dag_id, q.dag_version, q.params, q.logical_date, q.decision_seq,
      (select count(*) from l) as locks,
      ${sql.raw(decidedSql('q'))} as decided
    from q order by q.created_at, q.id`.execute(trx);
  return rows.map(({ locks: _, ...r }) => r);
}
