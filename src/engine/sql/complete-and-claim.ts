/**
 * PostgreSQL only: one engine cycle's completions, the task moves they cause, and the claims of
 * the tasks that are ready, in ONE statement. A chain step (one task ends, the next starts) is then
 * one statement and the audit append before the commit, instead of three statements: each is a
 * round trip, and round trips are most of a step's time on a busy machine.
 *
 * The moves and claims that follow from a completion carry its attempt id (`src`) and happen only
 * if that attempt's fenced update did (an attempt another process ended is left alone, and so is
 * what it would have readied). A task readied by a move in this cycle is claimed from the state it
 * had (`pending`, `up_for_retry`): one row is never updated twice in one statement.
 *
 * With `records`, the same statement also appends the audit records of what it did (through
 * `airclutch_append_audit`, migration 0014) and the commit goes out behind it (`THEN_COMMIT`): a
 * step then waits on the store once. Each record is placed only if what it records happened here:
 * a completion's records (its end, what it settled) if its attempt ended, a claim's if the claim
 * was made, with the try number the claim gave it.
 *
 * The statement is prepared once per connection and runs on a generic plan, made before the
 * arrays are known. PostgreSQL then expects ten rows from each `unnest` and, while the task table
 * is young or its statistics stale, found hashing all of `task_instances` (and every index entry
 * of running attempts, dead ones included) cheaper than ten primary-key lookups: a chain step's
 * claim scanned the whole table, its time growing with it (0.3 ms at 1,300 rows). Each list ends
 * in a `LIMIT` by its own length, a parameter: a no-op, but the planner expects a tenth as many
 * rows from a limit it cannot see, one, and looks each row up by its key. The attempts' fence
 * compares with a column (`v.running`) rather than the literal: against the literal, the index on
 * `state` looked cheaper than the primary key, and until a vacuum it holds an entry for every
 * attempt that ever ran.
 * @module
 */
import { sql } from 'kysely';
import { PREPARED, THEN_COMMIT } from '../../store/pipelined-client.ts';
import type { RecordText } from '../engine-types.ts';
import type { TaskState } from '../states.ts';
import { DEFAULT_ATTEMPT_LEASE_MS } from './claim-tasks.ts';
import type { AttemptCompletion } from './complete-attempt.ts';
import type { Queryable } from './executor-db.ts';

export interface TaskMove {
  readonly runId: string;
  readonly taskId: string;
  readonly from: TaskState;
  readonly to: TaskState;
  /** The completion this move follows from: it happens only if that attempt ended here. */
  readonly src: number | null;
}

export interface TaskClaim {
  readonly runId: string;
  readonly taskId: string;
  /** `queued`, or the state it leaves for `queued` in this same cycle. */
  readonly from: TaskState;
  readonly src: number | null;
}

/** An audit record the statement appends if what it records happens there. */
export interface StatementRecord {
  readonly text: RecordText;
  /** A completion's record (or one of what it settled): placed if this attempt ended here. */
  readonly src: number | null;
  /** A claim's record: placed if the claim was made, with its try number in the text's hole. */
  readonly claim: { readonly runId: string; readonly taskId: string } | null;
}

export interface ClaimedRunAttempt {
  readonly runId: string;
  readonly taskId: string;
  readonly tryNumber: number;
  readonly attemptId: number;
  readonly leaseToken: string;
}

export interface CompletedAndClaimed {
  /** Attempts whose fenced update ended them. */
  readonly ended: Set<number>;
  readonly claimed: ClaimedRunAttempt[];
}

export async function completeAndClaim(
  q: Queryable,
  o: {
    completions: readonly AttemptCompletion[];
    moves: readonly TaskMove[];
    claims: readonly TaskClaim[];
    workerId: string;
    now: number;
    leaseMs?: number;
    /** The cycle's audit records, appended by this statement, which is then the transaction's last. */
    records?: readonly StatementRecord[];
  },
): Promise<CompletedAndClaimed> {
  const { completions: cs, moves: ms, claims: ks, now } = o;
  const rs = o.records?.length ? o.records : undefined;
  const expires = now + (o.leaseMs ?? DEFAULT_ATTEMPT_LEASE_MS);
  const { rows } = await sql<{
    /** null: the audit append's row. */
    ended: boolean | null;
    id: string | number;
    run_id: string | null;
    task_id: string | null;
    try_number: number | null;
    lease_token: string | null;
  }>`${sql.raw(PREPARED)}
    with v (id, run_id, task_id, attempt_state, task_state, error, exit_code, output, next_try_at, running) as (
      select *, 'running'::text from unnest(${cs.map((c) => c.attemptId)}::bigint[], ${cs.map((c) => c.runId)}::text[],
        ${cs.map((c) => c.taskId)}::text[], ${cs.map((c) => c.attemptState)}::text[],
        ${cs.map((c) => c.taskState)}::text[], ${cs.map((c) => c.error)}::text[],
        ${cs.map((c) => c.exitCode)}::integer[], ${cs.map((c) => c.outputJson)}::text[],
        ${cs.map((c) => c.nextTryAt)}::bigint[]) limit ${cs.length}::bigint
    ), a as (
      update attempts set state = v.attempt_state, ended_at = ${now}, error = v.error, exit_code = v.exit_code
      from v where attempts.id = v.id and attempts.state = v.running
      returning attempts.id
    ), t as (
      update task_instances set state = v.task_state, output = v.output, error = v.error,
        next_try_at = v.next_try_at, updated_at = ${now}
      from v
      where task_instances.run_id = v.run_id and task_instances.task_id = v.task_id
        and task_instances.state = 'running' and v.id in (select id from a)
    ), m (run_id, task_id, from_state, to_state, src) as (
      select * from unnest(${ms.map((m) => m.runId)}::text[], ${ms.map((m) => m.taskId)}::text[],
        ${ms.map((m) => m.from)}::text[], ${ms.map((m) => m.to)}::text[], ${ms.map((m) => m.src)}::bigint[]) limit ${ms.length}::bigint
    ), mu as (
      update task_instances set state = m.to_state, updated_at = ${now}
      from m
      where task_instances.run_id = m.run_id and task_instances.task_id = m.task_id
        and task_instances.state = m.from_state and (m.src is null or m.src in (select id from a))
    ), k (run_id, task_id, from_state, src) as (
      select * from unnest(${ks.map((k) => k.runId)}::text[], ${ks.map((k) => k.taskId)}::text[],
        ${ks.map((k) => k.from)}::text[], ${ks.map((k) => k.src)}::bigint[]) limit ${ks.length}::bigint
    ), c as (
      update task_instances set state = 'running', try_number = task_instances.try_number + 1,
        updated_at = ${now}, next_try_at = null
      from k
      where task_instances.run_id = k.run_id and task_instances.task_id = k.task_id
        and task_instances.state = k.from_state and (k.src is null or k.src in (select id from a))
      returning task_instances.run_id, task_instances.task_id, task_instances.try_number
    ), i as (
      insert into attempts (run_id, task_id, try_number, state, started_at, worker_id, heartbeat_at,
        lease_expires_at, lease_token)
      select run_id, task_id, try_number, 'running', ${now}::bigint, ${o.workerId}::text, ${now}::bigint,
        ${expires}::bigint, gen_random_uuid()::text from c
      returning id, run_id, task_id, try_number, lease_token
    )${rs ? appended(rs) : sql``}
    select true as ended, id, null as run_id, null as task_id, null::integer as try_number, null as lease_token
    from a
    union all
    select false, id, run_id, task_id, try_number, lease_token from i${
      rs
        ? sql`
    union all
    select null, o_from, null, null, null, null from au ${sql.raw(THEN_COMMIT)}`
        : sql``
    }`.execute(q);
  const ended = new Set<number>();
  const claimed: ClaimedRunAttempt[] = [];
  for (const r of rows) {
    if (r.ended === null) continue;
    if (r.ended) ended.add(Number(r.id));
    else
      claimed.push({
        runId: r.run_id!,
        taskId: r.task_id!,
        tryNumber: r.try_number!,
        attemptId: Number(r.id),
        leaseToken: r.lease_token!,
      });
  }
  return { ended, claimed };
}

/**
 * The CTEs that append the records of what the statement did, in the order given: `a` holds the
 * attempts it ended, `c` the claims it made (with their new try numbers).
 */
function appended(rs: readonly StatementRecord[]) {
  return sql`, r (head, tail, after, src, claim_run, claim_task, ord) as (
      select * from unnest(${rs.map((r) => r.text[0])}::text[], ${rs.map((r) => r.text[1])}::text[],
        ${rs.map((r) => r.text[2])}::text[], ${rs.map((r) => r.src)}::bigint[],
        ${rs.map((r) => r.claim?.runId ?? null)}::text[], ${rs.map((r) => r.claim?.taskId ?? null)}::text[])
        with ordinality
    ), placed as (
      select r.ord, r.head || coalesce(ck.try_number::text, '') || r.tail as before, r.after
      from r left join c ck on ck.run_id = r.claim_run and ck.task_id = r.claim_task
      where (r.src is null or r.src in (select id from a)) and (r.claim_task is null or ck.task_id is not null)
    ), au as (
      select f.o_from from airclutch_append_audit(
        coalesce((select array_agg(before order by ord) from placed), '{}'),
        coalesce((select array_agg(after order by ord) from placed), '{}')) f
    )`;
}
