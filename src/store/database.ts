/**
 * The store's tables, as Kysely sees them. Times are epoch milliseconds (BIGINT), JSON is stored as
 * text so that SQLite and PostgreSQL run the same queries. Each capability owns its tables and its
 * migrations; this interface only gathers them.
 * @module
 */
import type { Generated } from 'kysely';
import type { AttemptState, RunState, TaskState } from '../engine/states.ts';

export interface DagsTable {
  env: string;
  dag_id: string;
  /** Content hash of the DAG's file: runs and approvals are bound to it. */
  version: string;
  file: string;
  description: string | null;
  owner: string | null;
  /** JSON array of strings. */
  tags: string;
  schedule: string | null;
  timezone: string | null;
  /** JSON Schema of the params, as JSON text. */
  params_schema: string;
  catchup: number;
  max_active_runs: number;
  is_paused: number;
  /** The logical date (ms) of the newest schedule tick that produced a run. */
  last_scheduled_at: number | null;
  updated_at: number;
}

export interface RunsTable {
  id: string;
  env: string;
  dag_id: string;
  dag_version: string;
  state: RunState;
  /** JSON text of the validated params. */
  params: string;
  params_hash: string;
  logical_date: number | null;
  /** Set for schedule and backfill runs, unique per DAG: a tick never makes two runs. */
  schedule_key: string | null;
  source: string;
  requested_by_kind: string;
  requested_by: string;
  note: string | null;
  break_glass: number;
  created_at: number;
  started_at: number | null;
  ended_at: number | null;
  error: string | null;
  /**
   * The seq of the audit record of the gate's decision that created the run, written in the same
   * transaction: the executor refuses to start a run without one (`RUN_UNDECIDED`).
   */
  decision_seq: number | null;
}

export interface TaskInstancesTable {
  run_id: string;
  task_id: string;
  state: TaskState;
  /** Attempts started so far. */
  try_number: number;
  max_tries: number;
  next_try_at: number | null;
  /** JSON text of the task's return value, for `ctx.upstream()`. */
  output: string | null;
  error: string | null;
  updated_at: number;
  /** The worker pool that may claim it (`d.task('x', { queue: 'gpu' }, …)`); `default` otherwise. */
  queue: Generated<string>;
}

export interface AttemptsTable {
  id: Generated<number>;
  run_id: string;
  task_id: string;
  try_number: number;
  state: AttemptState;
  started_at: number;
  ended_at: number | null;
  error: string | null;
  exit_code: number | null;
  /** Which executor process holds it; crash recovery and, later, leases use it. */
  worker_id: string;
  heartbeat_at: number;
  /** The holder renews it by heartbeat; once past, another process may reclaim the attempt. */
  lease_expires_at: number | null;
  /** New per claim: a completion must present it (fencing), so a stalled holder cannot complete. */
  lease_token: string | null;
}

export interface TaskLogsTable {
  id: Generated<number>;
  attempt_id: number;
  run_id: string;
  task_id: string;
  ts: number;
  stream: string;
  line: string;
}

export interface ApprovalRequestsTable {
  id: string;
  /** `approval`: a run waits for votes. `review`: a break-glass run waits for its review afterwards. */
  kind: 'approval' | 'review';
  /** The run the request would start; null for a request about a DAG action (see `action`). */
  run_id: string | null;
  env: string;
  dag_id: string;
  /** The DAG version and params hash the request is bound to: votes for anything else do not count. */
  dag_version: string;
  params_hash: string;
  requested_by_kind: string;
  requested_by: string;
  quorum: number;
  state: 'pending' | 'approved' | 'denied' | 'expired' | 'cancelled' | 'reviewed';
  /** Why approval is needed: the policy's reason. */
  reason: string | null;
  created_at: number;
  expires_at: number | null;
  decided_at: number | null;
  /**
   * Null for a run's request. For a request about a DAG action rather than a run, the action once
   * approved: `unpause` (an Airflow DAG, docs/airflow.md).
   */
  action: 'unpause' | null;
}

export interface ApprovalVotesTable {
  request_id: string;
  voter_kind: string;
  voter: string;
  vote: 'approve' | 'deny' | 'review';
  comment: string | null;
  params_hash: string;
  dag_version: string;
  created_at: number;
}

/** A signed-in person's server-side session; the cookie holds the id, the table its SHA-256. */
export interface SessionsTable {
  id_hash: string;
  /** JSON text of the `Principal`. */
  principal: string;
  csrf_token: string;
  issuer: string;
  subject: string;
  /** For RP-initiated logout (`id_token_hint`). */
  id_token: string | null;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
}

/** A sign-in between `/auth/login` and `/auth/callback`. */
export interface LoginAttemptsTable {
  state: string;
  code_verifier: string;
  nonce: string;
  return_to: string;
  created_at: number;
}

export interface AuditRecordsTable {
  seq: number;
  ts: number;
  action: string;
  actor_kind: string | null;
  actor_id: string | null;
  actor_subject: string | null;
  actor_issuer: string | null;
  actor_display_name: string | null;
  /** JSON array (RFC 8785 canonical text). */
  actor_groups: string | null;
  actor_token_id: string | null;
  actor_client: string | null;
  env: string | null;
  dag_id: string | null;
  dag_version: string | null;
  run_id: string | null;
  task_id: string | null;
  approval_id: string | null;
  source: string | null;
  request_id: string | null;
  params_hash: string | null;
  /** JSON object, sensitive values as `hmac:<hex>` (canonical text). */
  params: string | null;
  decision_effect: string | null;
  /** JSON `{effect, policies, reasons}` (canonical text). */
  decision: string | null;
  outcome: string | null;
  /** JSON object (canonical text). */
  details: string | null;
  prev_hash: string;
  hash: string;
}

/** One row (id = 1): the chain's head, moved under a lock by every append. */
export interface AuditHeadTable {
  id: number;
  seq: number;
  hash: string;
}

export interface AuditCheckpointsTable {
  seq: number;
  hash: string;
  signature: string;
  key_id: string;
  ts: number;
}

export interface AuditSinkCursorsTable {
  sink: string;
  last_seq: number;
  updated_at: number;
}

/** Who runs the store's runs now; renewed while alive, taken over once expired or its process is gone. */
export interface EngineLeasesTable {
  name: string;
  holder: string;
  host: string;
  pid: number;
  expires_at: number;
  /** New per acquisition: renewal matches it, so an engine that lost the lease learns it did. */
  token: string | null;
}

/** A live fleet worker, upserted by its heartbeat (`airclutch workers list`). */
export interface WorkersTable {
  id: string;
  host: string;
  pid: number;
  /** JSON array of the queues it claims from. */
  queues: string;
  concurrency: number;
  running: number;
  started_at: number;
  last_seen_at: number;
  draining: number;
}

/**
 * A run that the Airflow bridge delivers: `pending` until Airflow has it (retried with backoff while
 * it cannot be delivered, `last_error` saying why), then `delivered`; `refused` when Airflow said no.
 */
export interface AirflowRunsTable {
  run_id: string;
  env: string;
  dag_id: string;
  /** The `dag_run_id` Airclutch chose, so a repeated delivery is the same remote run. */
  remote_run_id: string;
  delivery_state: 'pending' | 'delivered' | 'refused';
  attempts: number;
  next_attempt_at: number | null;
  last_error: string | null;
  /** Airflow's run state, as last seen. */
  remote_state: string | null;
  /** The remote DAG's version when it was delivered. */
  dag_version: string;
  /** 1 once the cancel was passed on to Airflow. */
  cancel_sent: number;
  updated_at: number;
}

/**
 * The delivery of an approved DAG action (an Airflow unpause): `pending` while it is tried (retried
 * with backoff after a failure Airflow may recover from, `next_attempt_at` saying when), `done` once
 * applied, `failed` when refused, when the DAG changed, or after the last try (`last_error` says why).
 */
export interface DagActionDeliveriesTable {
  approval_id: string;
  action: string;
  env: string;
  dag_id: string;
  state: 'pending' | 'done' | 'failed';
  attempts: number;
  next_attempt_at: number | null;
  last_error: string | null;
  updated_at: number;
}

export interface Database {
  dags: DagsTable;
  runs: RunsTable;
  task_instances: TaskInstancesTable;
  attempts: AttemptsTable;
  task_logs: TaskLogsTable;
  approval_requests: ApprovalRequestsTable;
  approval_votes: ApprovalVotesTable;
  sessions: SessionsTable;
  login_attempts: LoginAttemptsTable;
  audit_records: AuditRecordsTable;
  audit_head: AuditHeadTable;
  audit_checkpoints: AuditCheckpointsTable;
  audit_sink_cursors: AuditSinkCursorsTable;
  engine_leases: EngineLeasesTable;
  workers: WorkersTable;
  airflow_runs: AirflowRunsTable;
  dag_action_deliveries: DagActionDeliveriesTable;
}
