/**
 * The fleet's claim: ready task instances of ANY run, from the queues this worker serves, with
 * `FOR UPDATE SKIP LOCKED` so workers claiming at once take disjoint rows. A queue with a
 * concurrency limit is claimed under a transaction-scoped advisory lock, after counting what runs
 * in it now, so the limit holds across processes.
 * @module
 */
import { sql, type Transaction } from 'kysely';
import type { Database, RunsTable } from '../../store/database.ts';
import { PREPARED } from '../../store/pipelined-client.ts';

/** What an attempt needs of its run to start, read in the claim itself (no query after it). */
export type ClaimedRun = Pick<RunsTable, 'id' | 'env' | 'dag_id' | 'dag_version' | 'params' | 'logical_date'>;

export interface FleetClaim {
  readonly attemptId: number;
  readonly runId: string;
  readonly taskId: string;
  readonly tryNumber: number;
  readonly maxTries: number;
  readonly leaseToken: string;
  readonly queue: string;
  readonly env: string;
  readonly dagId: string;
  /** When the task instance became ready (for the claim latency). */
  readonly queuedAt: number;
  readonly run: ClaimedRun;
}

export interface ClaimOptions {
  readonly workerId: string;
  readonly queues: readonly string[];
  /** Queues with a cluster-wide limit on running attempts (`engine.queues.<name>.concurrency`). */
  readonly limits: ReadonlyMap<string, number>;
  readonly capacity: number;
  readonly now: number;
  readonly leaseMs: number;
}

export async function claimReady(trx: Transaction<Database>, o: ClaimOptions): Promise<FleetClaim[]> {
  if (o.capacity <= 0) return [];
  const out: FleetClaim[] = [];
  const open = o.queues.filter((q) => !o.limits.has(q));
  if (open.length) out.push(...(await claimFrom(trx, open, o.capacity, o)));
  for (const q of o.queues) {
    const limit = o.limits.get(q);
    if (limit === undefined || out.length >= o.capacity) continue;
    await sql`select pg_advisory_xact_lock(hashtextextended('airclutch:queue:' || current_schema() || ':' || ${q}, 0))`.execute(
      trx,
    );
    const { rows } = await sql<{ n: string }>`
      select count(*) as n from task_instances where queue = ${q} and state = 'running'`.execute(trx);
    const free = Math.min(limit - Number(rows[0]?.n ?? 0), o.capacity - out.length);
    if (free > 0) out.push(...(await claimFrom(trx, [q], free, o)));
  }
  return out;
}

async function claimFrom(
  trx: Transaction<Database>,
  queues: readonly string[],
  n: number,
  o: ClaimOptions,
): Promise<FleetClaim[]> {
  const { rows } = await sql<{
    id: string;
    run_id: string;
    task_id: string;
    try_number: number;
    max_tries: number;
    lease_token: string;
    queue: string;
    env: string;
    dag_id: string;
    dag_version: string;
    params: string;
    logical_date: number | null;
    queued_at: string;
  }>`${sql.raw(PREPARED)}
    with c as (
      select run_id, task_id, updated_at as queued_at from task_instances
      where state = 'queued' and queue = any(${[...queues]}::text[])
      order by updated_at limit ${n}
      for update skip locked
    ), u as (
      update task_instances t set state = 'running', try_number = t.try_number + 1, updated_at = ${o.now},
        next_try_at = null
      from c where t.run_id = c.run_id and t.task_id = c.task_id
      returning t.run_id, t.task_id, t.try_number, t.max_tries, t.queue
    ), a as (
      insert into attempts (run_id, task_id, try_number, state, started_at, worker_id, heartbeat_at,
        lease_expires_at, lease_token)
      select run_id, task_id, try_number, 'running', ${o.now}::bigint, ${o.workerId}::text, ${o.now}::bigint,
        ${o.now + o.leaseMs}::bigint, gen_random_uuid()::text from u
      returning id, run_id, task_id, try_number, lease_token
    )
    select a.id, a.run_id, a.task_id, a.try_number, a.lease_token, u.max_tries, u.queue, r.env, r.dag_id,
      r.dag_version, r.params, r.logical_date, c.queued_at
    from a join u on u.run_id = a.run_id and u.task_id = a.task_id
      join c on c.run_id = a.run_id and c.task_id = a.task_id
      join runs r on r.id = a.run_id`.execute(trx);
  return rows.map((r) => ({
    attemptId: Number(r.id),
    runId: r.run_id,
    taskId: r.task_id,
    tryNumber: r.try_number,
    maxTries: r.max_tries,
    leaseToken: r.lease_token,
    queue: r.queue,
    env: r.env,
    dagId: r.dag_id,
    queuedAt: Number(r.queued_at),
    run: {
      id: r.run_id,
      env: r.env,
      dag_id: r.dag_id,
      dag_version: r.dag_version,
      params: r.params,
      logical_date: r.logical_date,
    },
  }));
}
