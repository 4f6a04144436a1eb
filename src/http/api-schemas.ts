/**
 * JSON Schemas shared by the routes: Fastify validates requests with them and `@fastify/swagger`
 * turns them into the OpenAPI document. Response schemas document the shapes; the responses
 * themselves are serialized with JSON.stringify (see create-server.ts).
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
  required: ['type', 'title', 'status', 'code', 'detail', 'requestId'],
} as const;

const problemRef = { $ref: 'Problem#' } as const;

/** The refusals every authenticated route may answer with. */
export const authErrors = {
  400: { ...problemRef, description: 'REQUEST_INVALID: a field is missing or malformed' },
  401: { ...problemRef, description: 'a token problem (TOKEN_MISSING, TOKEN_EXPIRED, …)' },
  403: { ...problemRef, description: 'POLICY_DENIED or SCOPE_MISSING' },
  429: { ...problemRef, description: 'RATE_LIMITED' },
} as const;

export const anyObject = { type: 'object', additionalProperties: true } as const;

export const runSchema = {
  type: 'object',
  additionalProperties: true,
  description: 'a run: id, env, dag_id, state, params, requested_by, times in epoch ms',
  properties: {
    id: { type: 'string' },
    env: { type: 'string' },
    dag_id: { type: 'string' },
    state: { type: 'string' },
    params: {},
  },
} as const;

export const approvalSchema = {
  type: 'object',
  additionalProperties: true,
  description: 'an approval request with its votes',
  properties: {
    id: { type: 'string' },
    run_id: { type: 'string' },
    state: { type: 'string' },
    quorum: { type: 'integer' },
    params_hash: { type: 'string', description: 'send it back as paramsHash to vote' },
    dag_version: { type: 'string', description: 'send it back as dagVersion to vote' },
    params: { ...anyObject, description: "the run's params (sensitive ones masked), in listings" },
    reason: { type: ['string', 'null'] },
    votes: { type: 'array', items: anyObject },
  },
} as const;

export const decisionSchema = {
  type: 'object',
  properties: {
    policies: { type: 'array', items: { type: 'string' } },
    reasons: { type: 'array', items: { type: 'string' } },
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

export const bearer: Array<Record<string, string[]>> = [{ bearerAuth: [] }, { sessionCookie: [] }];
