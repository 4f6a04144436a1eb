/**
 * JSON Schemas shared by the routes: Fastify validates requests with them, serializes responses
 * with them (fast-json-stringify: a property a schema does not list is not sent), and
 * `@fastify/swagger` turns them into the OpenAPI document. A view with a fixed shape says
 * `additionalProperties: false`, so a field added to it later does not leak until it is listed here.
 * Nullable fields must say so (`['string', 'null']`): the serializer would turn a null into "".
 * @module
 */

/** Path ids: DAG ids, run ids, approval ids. Anything else is a 400, never a lookup. */
export const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$';

export const problemSchema = {
  $id: 'Problem',
  type: 'object',
  description: 'RFC 9457 problem details',
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    code: { type: 'string', description: 'stable error code; see docs/errors.md' },
    detail: { type: 'string', description: 'what went wrong and what to do' },
    instance: { type: 'string' },
    requestId: { type: 'string', description: 'also in the x-request-id header and the audit record' },
    details: { type: 'object', additionalProperties: true },
  },
  additionalProperties: false,
  required: ['type', 'title', 'status', 'code', 'detail', 'requestId'],
} as const;

export const problemRef = { $ref: 'Problem#' } as const;

/** The refusals every authenticated route may answer with. */
export const authErrors = {
  400: { ...problemRef, description: 'REQUEST_INVALID: a field is missing or malformed' },
  401: { ...problemRef, description: 'a token problem (TOKEN_MISSING, TOKEN_EXPIRED, …)' },
  403: { ...problemRef, description: 'POLICY_DENIED or SCOPE_MISSING' },
  429: { ...problemRef, description: 'RATE_LIMITED' },
} as const;

/**
 * A free-form JSON object. Only for parts whose shape is not ours to fix: a DAG's params (and its
 * params JSON Schema), a problem's `details`, and an audit record's params, decision and details
 * (hashed as stored, so they must come out exactly as they went in).
 */
export const anyObject = { type: 'object', additionalProperties: true } as const;

const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const strings = { type: 'array', items: str } as const;
const nullableStr = { type: ['string', 'null'] } as const;
const nullableInt = { type: ['integer', 'null'] } as const;

/** `RunView` (src/gate/views.ts): a run row with its params parsed and masked. */
export const runSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'a run; times are epoch ms; params whose DAG marks them sensitive are masked',
  properties: {
    id: str,
    env: str,
    dag_id: str,
    dag_version: str,
    state: str,
    params: { description: 'the validated params (free-form, sensitive values masked)' },
    params_hash: str,
    logical_date: nullableInt,
    schedule_key: nullableStr,
    source: str,
    requested_by_kind: str,
    requested_by: str,
    note: nullableStr,
    break_glass: { type: 'boolean' },
    created_at: int,
    started_at: nullableInt,
    ended_at: nullableInt,
    error: nullableStr,
    dag_loaded: { type: 'boolean', description: 'false once the DAG is no longer loaded; its runs stay' },
  },
} as const;

/** A task instance of a run (the `task_instances` row). */
export const taskSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    run_id: str,
    task_id: str,
    state: str,
    try_number: int,
    max_tries: int,
    next_try_at: nullableInt,
    output: { ...nullableStr, description: "JSON text of the task's return value" },
    error: nullableStr,
    updated_at: int,
    attempts: {
      type: 'array',
      description: "the task's tries, oldest first (local, or copied from Airflow for a bridged run)",
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          attempt: { type: 'integer', description: 'the try number, from 1' },
          state: str,
          startedAt: { type: 'integer', description: 'epoch ms' },
          finishedAt: { type: ['integer', 'null'], description: 'epoch ms; null while it runs' },
          error: nullableStr,
        },
      },
    },
  },
} as const;

/** `ApprovalView` (src/gate/gate-types.ts): the request and its votes. */
export const approvalSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'an approval request with its votes; times are epoch ms',
  properties: {
    id: str,
    kind: { type: 'string', enum: ['approval', 'review'] },
    run_id: { ...nullableStr, description: "the run it would start; null for a DAG action's request" },
    action: {
      type: ['string', 'null'],
      enum: ['unpause', null],
      description: "null for a run's request; the DAG action it would take once approved (docs/airflow.md)",
    },
    env: str,
    dag_id: str,
    dag_version: { type: 'string', description: 'send it back as dagVersion to vote' },
    params_hash: { type: 'string', description: 'send it back as paramsHash to vote' },
    params: { ...anyObject, description: "the run's params (sensitive ones masked), in listings" },
    requested_by_kind: str,
    requested_by: str,
    quorum: int,
    state: str,
    reason: nullableStr,
    created_at: int,
    expires_at: nullableInt,
    decided_at: nullableInt,
    delivery: {
      type: ['object', 'null'],
      additionalProperties: false,
      description:
        "a DAG action's request, once approved: pending (retried with backoff), done, or failed with why",
      properties: {
        state: { type: 'string', enum: ['pending', 'done', 'failed'] },
        attempts: int,
        next_attempt_at: nullableInt,
        last_error: nullableStr,
        updated_at: int,
      },
    },
    votes: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        properties: { voter: str, voter_kind: str, vote: str, comment: nullableStr, created_at: int },
      },
    },
  },
} as const;

/** `VoterStanding` (src/gate/approval-for-voter.ts): may the caller vote now, and if not, why. */
export const voterStandingSchema = {
  type: 'object',
  additionalProperties: false,
  description:
    'whether the caller may vote on the request now; if not, the code and message a vote would get',
  properties: { allowed: { type: 'boolean' }, code: nullableStr, message: nullableStr },
} as const;

export const decisionSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { policies: strings, reasons: strings },
} as const;

/** A DAG as `listDagsFor` (src/gate/gate-reads.ts) shows it. */
export const dagSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    env: str,
    dagId: str,
    version: str,
    description: nullableStr,
    owner: nullableStr,
    tags: strings,
    schedule: nullableStr,
    timezone: nullableStr,
    tasks: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        properties: { id: str, kind: str, after: strings, triggerRule: str },
      },
    },
    paramsSchema: { ...anyObject, description: "the params' JSON Schema (free-form)" },
    trigger: { type: 'string', enum: ['allow', 'approval', 'deny'] },
    runsOn: {
      type: 'string',
      enum: ['local', 'airflow'],
      description: "where its runs execute: Airclutch's engine, or the environment's Airflow (bridged)",
    },
    paused: {
      type: 'boolean',
      description: 'an Airflow DAG only: whether Airflow has it paused (as of the last catalogue refresh)',
    },
  },
} as const;

/** `AuditRecord` (src/audit/audit-types.ts): a link of the chain, as stored and hashed. */
export const auditRecordSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    seq: int,
    ts: int,
    action: str,
    actor: {
      type: ['object', 'null'],
      additionalProperties: false,
      properties: {
        kind: str,
        id: str,
        subject: nullableStr,
        issuer: nullableStr,
        displayName: nullableStr,
        groups: { type: ['array', 'null'], items: str },
        tokenId: nullableStr,
        client: nullableStr,
      },
    },
    resource: {
      type: ['object', 'null'],
      additionalProperties: false,
      properties: {
        env: nullableStr,
        dagId: nullableStr,
        dagVersion: nullableStr,
        runId: nullableStr,
        taskId: nullableStr,
        approvalId: nullableStr,
      },
    },
    source: nullableStr,
    requestId: nullableStr,
    paramsHash: nullableStr,
    params: { type: ['object', 'null'], additionalProperties: true },
    decision: { type: ['object', 'null'], additionalProperties: true },
    outcome: nullableStr,
    details: { type: ['object', 'null'], additionalProperties: true },
    prevHash: str,
    hash: str,
  },
} as const;

export const idParam = (name: string) =>
  ({
    type: 'object',
    properties: { [name]: { type: 'string', pattern: ID_PATTERN } },
    required: [name],
    additionalProperties: false,
  }) as const;

export const envQuery = {
  type: 'object',
  properties: { env: { type: 'string', pattern: ID_PATTERN } },
  additionalProperties: false,
} as const;

/** The query of a route that takes no query parameters: any is refused, naming it. */
export const NO_QUERY = { type: 'object', properties: {}, additionalProperties: false } as const;

export const bearer: Array<Record<string, string[]>> = [{ bearerAuth: [] }, { sessionCookie: [] }];

/** `ImportErrorView` (src/gate/gate-reads.ts): a DAG file that did not load, here or in Airflow. */
export const importErrorSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    env: str,
    dagId: {
      ...nullableStr,
      description: 'the DAG it is about, when the file loaded but one DAG in it is bad',
    },
    file: {
      type: 'string',
      description: "relative to the server's project root; Airflow's path for Airflow's",
    },
    line: nullableInt,
    column: nullableInt,
    message: str,
    source: { type: 'string', enum: ['local', 'airflow'] },
  },
} as const;
