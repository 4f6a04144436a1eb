/** The one way the UI talks to Airclutch: the HTTP API with the signed-in person's session cookie and CSRF token. */

/** A problem+json answer of the API, kept whole so pages can show its code and message. */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  readonly requestId: string | undefined;
  constructor(
    status: number,
    problem: { code?: string; detail?: string; title?: string; details?: unknown; requestId?: string },
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
    this.status = status;
    this.code = problem.code ?? `HTTP_${status}`;
    this.details = problem.details as Record<string, unknown> | undefined;
    this.requestId = problem.requestId;
  }
}

let csrfToken: string | undefined;

/** The session's CSRF token, sent in `x-csrf-token` on every state-changing call. */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const method = init.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json' };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) throw new ApiError(res.status, (json as object) ?? { detail: text || res.statusText });
  return json as T;
}

export const qs = (params: Record<string, string | number | undefined | null>): string => {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '');
  return entries.length ? `?${new URLSearchParams(entries.map(([k, v]) => [k, String(v)])).toString()}` : '';
};

// Shapes of the API's answers (see docs/http.md and /openapi.json).
export type Access = 'allow' | 'approval' | 'deny';

export interface Session {
  principal: { kind: string; id: string; displayName?: string | null; groups: string[] };
  csrfToken: string;
  expiresAt: number;
}

export interface DagTask {
  id: string;
  kind: string;
  after: string[];
  triggerRule: string;
}

export interface Dag {
  env: string;
  dagId: string;
  version: string;
  description: string | null;
  owner: string | null;
  tags: string[];
  schedule: string | null;
  timezone: string | null;
  tasks: DagTask[];
  paramsSchema: JsonSchema;
  trigger: Access;
  /** Where its runs execute: Airclutch's engine, or the environment's Airflow. */
  runsOn?: 'local' | 'airflow';
  /** An Airflow DAG only: whether Airflow has it paused (its schedule stopped). */
  paused?: boolean;
}

export interface ImportError {
  env: string;
  dagId: string | null;
  file: string;
  line: number | null;
  column: number | null;
  message: string;
  source: 'local' | 'airflow';
}

export interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema & { sensitive?: boolean; default?: unknown; description?: string }>;
  required?: string[];
  [k: string]: unknown;
}

export interface Run {
  id: string;
  env: string;
  dag_id: string;
  dag_version: string;
  state: string;
  params: Record<string, unknown>;
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
}

export interface TaskInstance {
  run_id: string;
  task_id: string;
  state: string;
  try_number: number;
  max_tries: number;
  error: string | null;
  updated_at: number;
  attempts?: Attempt[];
}

/** One try of a task; times are epoch ms. */
export interface Attempt {
  attempt: number;
  state: string;
  startedAt: number;
  finishedAt: number | null;
  error: string | null;
}

export interface Vote {
  voter: string;
  voter_kind: string;
  vote: string;
  comment: string | null;
  created_at: number;
}

export interface Approval {
  id: string;
  kind: 'approval' | 'review';
  /** Null for a DAG action's request (an Airflow unpause), named by `action`. */
  run_id: string | null;
  action?: 'unpause' | null;
  env: string;
  dag_id: string;
  dag_version: string;
  params_hash: string;
  requested_by: string;
  quorum: number;
  state: string;
  reason: string | null;
  created_at: number;
  expires_at: number | null;
  decided_at?: number | null;
  /** A DAG action's request, once approved: how far the action got. */
  delivery?: {
    state: 'pending' | 'done' | 'failed';
    attempts: number;
    next_attempt_at: number | null;
    last_error: string | null;
  } | null;
  votes: Vote[];
}

/** `GET /api/v1/approvals/<id>`: a request as a voter is shown it, and whether the caller may vote. */
export interface ApprovalShown {
  approval: Approval;
  /** The run it would start (params masked); null for a DAG action's request. */
  run: Run | null;
  /** The policies that made it need approval. */
  policies: string[];
  /** What the requester said: the run's note, or a DAG action's reason. */
  note: string | null;
  canVote: { allowed: boolean; code: string | null; message: string | null };
}

export interface Explanation {
  effect: 'allow' | 'deny';
  policies: string[];
  reasons: string[];
  errors: string[];
  determining: {
    id: string;
    effect: 'permit' | 'forbid';
    text: string;
    annotations: Record<string, string>;
  }[];
  wouldAllow: string[];
  /** For trigger and unpause: starts now, needs approval, or refused. */
  outcome?: Access;
  /** For outcome approval: the approvals needed, and who policy lets approve. */
  quorum?: number;
  approvers?: Approver[];
}

export interface Approver {
  kind: 'group' | 'user' | 'service' | 'anyone';
  id: string | null;
}

/** "2 approvals from data-leads", "1 approval from data-leads or ana@example.com". */
export function approvalsText(quorum: number | undefined, approvers: Approver[] | undefined): string {
  const n = quorum ?? 1;
  const who = approvers?.length
    ? approvers.map((a) => (a.kind === 'anyone' ? 'anyone' : (a.id ?? ''))).join(' or ')
    : 'people policy lets approve';
  return `${n} approval${n === 1 ? '' : 's'} from ${who}`;
}

export interface AuditRecord {
  seq: number;
  ts: number;
  action: string;
  actor: { kind: string; id: string } | null;
  resource: {
    env: string | null;
    dagId: string | null;
    runId: string | null;
    approvalId: string | null;
  } | null;
  source: string | null;
  outcome: string | null;
  paramsHash: string | null;
  decision: Record<string, unknown> | null;
  details: Record<string, unknown> | null;
  hash: string;
  [k: string]: unknown;
}

export function explain(body: {
  action: string;
  dagId: string;
  env: string;
  params?: Record<string, unknown>;
}) {
  return api<Explanation>('/api/v1/authorize/explain', { method: 'POST', body });
}
