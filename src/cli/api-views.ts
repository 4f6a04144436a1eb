/**
 * The API's views as the CLI reads them (see src/http/api-schemas.ts): only types, so that nothing of
 * the server loads in the CLI.
 * @module
 */
export interface RunView {
  id: string;
  env: string;
  dag_id: string;
  dag_version: string;
  state: string;
  params: unknown;
  params_hash: string;
  source: string;
  requested_by_kind: string;
  requested_by: string;
  note: string | null;
  break_glass: boolean;
  created_at: number;
  started_at: number | null;
  ended_at: number | null;
  error: string | null;
  dag_loaded: boolean;
}

export interface TaskView {
  run_id: string;
  task_id: string;
  state: string;
  try_number: number;
  max_tries: number;
  error: string | null;
  /** The task's tries, oldest first (times epoch ms). */
  attempts?: { attempt: number; state: string; startedAt: number; finishedAt: number | null }[];
}

export interface ApprovalVoteView {
  voter: string;
  vote: string;
}

export interface ApprovalView {
  id: string;
  kind: string;
  /** Null for a request about the DAG itself (an Airflow unpause), named by `action`. */
  run_id: string | null;
  action?: string | null;
  env: string;
  dag_id: string;
  dag_version: string;
  params_hash: string;
  requested_by: string;
  quorum: number;
  state: string;
  reason: string | null;
  expires_at: number | null;
  /** A DAG action's request, once approved: how far the action got. */
  delivery?: {
    state: 'pending' | 'done' | 'failed';
    attempts: number;
    next_attempt_at: number | null;
    last_error: string | null;
  } | null;
  votes: ApprovalVoteView[];
}

export interface DagView {
  env: string;
  dagId: string;
  version: string;
  description: string | null;
  owner: string | null;
  tags: string[];
  schedule: string | null;
  timezone: string | null;
  tasks: { id: string; kind: string; after: string[]; triggerRule: string }[];
  paramsSchema: Record<string, unknown>;
  trigger: 'allow' | 'approval' | 'deny';
}

export const FINAL_RUN_STATES: ReadonlySet<string> = new Set([
  'success',
  'failed',
  'cancelled',
  'rejected',
  'expired',
]);
