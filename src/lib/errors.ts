/**
 * One error hierarchy for Airclutch. Every domain error has a stable `code`, an HTTP status and a
 * message that says what to fix. The registry below is the single list of codes; `docs/errors.md`
 * documents each one and a test keeps the two in step.
 *
 * Caller bugs (a misconfiguration found at start-up, a wrong argument) throw `TypeError`. Untrusted
 * input (a token, a param, a policy file, a request) gets an `AirclutchError`.
 * @module
 */

interface ErrorSpec {
  readonly status: number;
  readonly title: string;
}

/** Every error code, its HTTP status and a short title. Add new codes here and in docs/errors.md. */
export const ERROR_CODES = {
  // Foundation: DAGs, params, runs, store.
  INTERNAL: { status: 500, title: 'Internal error' },
  CONFIG_INVALID: { status: 500, title: 'Configuration is invalid' },
  DAG_NOT_FOUND: { status: 404, title: 'DAG not found' },
  DAG_INVALID: { status: 422, title: 'DAG definition is invalid' },
  PARAMS_INVALID: { status: 400, title: 'Params do not match the DAG schema' },
  RUN_NOT_FOUND: { status: 404, title: 'Run not found' },
  TASK_NOT_FOUND: { status: 404, title: 'Task not found' },
  STATE_CONFLICT: { status: 409, title: 'State transition not allowed' },
  STORE_UNAVAILABLE: { status: 503, title: 'Store unavailable' },
  REQUEST_INVALID: { status: 400, title: 'Request is invalid' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  DAG_CHANGED: { status: 409, title: 'DAG changed since the run was decided' },
  RUN_UNDECIDED: { status: 409, title: 'Run has no decision record' },
  PROJECT_EXISTS: { status: 409, title: 'A project is already here' },
  LEASE_LOST: { status: 409, title: 'Attempt lease lost; completion refused' },
  // Identity.
  TOKEN_MISSING: { status: 401, title: 'No token was presented' },
  TOKEN_EXPIRED: { status: 401, title: 'Token expired' },
  TOKEN_NOT_YET_VALID: { status: 401, title: 'Token not yet valid' },
  AUDIENCE_MISMATCH: { status: 401, title: 'Token audience mismatch' },
  ISSUER_UNTRUSTED: { status: 401, title: 'Token issuer is not trusted' },
  SCOPE_MISSING: { status: 403, title: 'Token lacks a required scope' },
  KEY_UNKNOWN: { status: 401, title: 'Signing key unknown' },
  SIGNATURE_INVALID: { status: 401, title: 'Token signature invalid' },
  ALGORITHM_REJECTED: { status: 401, title: 'Token algorithm rejected' },
  TOKEN_MALFORMED: { status: 401, title: 'Token malformed' },
  CLAIM_MISSING: { status: 401, title: 'Token lacks a required claim' },
  PRINCIPAL_UNMAPPED: { status: 401, title: 'Token maps to no principal' },
  PRINCIPAL_RESERVED: { status: 401, title: 'Token maps to a name reserved for the engine' },
  IDP_UNREACHABLE: { status: 503, title: 'Identity provider unreachable' },
  SESSION_INVALID: { status: 401, title: 'Session invalid or expired' },
  CSRF_INVALID: { status: 403, title: 'CSRF token missing or invalid' },
  LOGIN_FAILED: { status: 401, title: 'Sign-in failed' },
  // Policy, gate and approvals.
  POLICY_DENIED: { status: 403, title: 'Denied by policy' },
  POLICY_INVALID: { status: 422, title: 'Policy set is invalid' },
  APPROVAL_NOT_FOUND: { status: 404, title: 'Approval request not found' },
  APPROVAL_SELF_VOTE: { status: 403, title: 'Requesters cannot approve their own request' },
  APPROVAL_DUPLICATE_VOTE: { status: 409, title: 'This identity already voted' },
  APPROVAL_CLOSED: { status: 409, title: 'Approval request is closed' },
  APPROVAL_EXPIRED: { status: 410, title: 'Approval request expired' },
  APPROVAL_STALE: { status: 409, title: 'Approval no longer matches the params or DAG version' },
  // Audit.
  AUDIT_UNAVAILABLE: { status: 503, title: 'Audit trail unavailable; action refused' },
  AUDIT_CHAIN_BROKEN: { status: 500, title: 'Audit chain verification failed' },
  // HTTP.
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Payload too large' },
  MEDIA_TYPE_UNSUPPORTED: { status: 415, title: 'Content type not supported' },
  WEBHOOK_SIGNATURE_INVALID: { status: 401, title: 'Webhook signature invalid' },
  DELIVERY_FAILED: { status: 503, title: 'A receiver did not take a delivery; it will be retried' },
  // Airflow bridge.
  AIRFLOW_UNREACHABLE: { status: 503, title: 'Airflow cannot be reached' },
  AIRFLOW_TIMEOUT: { status: 504, title: 'Airflow did not answer in time' },
  AIRFLOW_AUTH_FAILED: { status: 502, title: 'Airflow refused the service credentials' },
  AIRFLOW_REFUSED: { status: 502, title: 'Airflow refused the request' },
  AIRFLOW_VERSION_MISMATCH: { status: 500, title: 'Airflow API version does not match the config' },
  AIRFLOW_CREDENTIAL_UNAVAILABLE: { status: 500, title: 'Airflow credential source unavailable' },
  // Airflow proxy.
  PROXY_OPERATION_UNMAPPED: { status: 403, title: 'Airflow operation not in the route table' },
  PROXY_OPERATION_DENIED: { status: 403, title: 'Airflow operation not offered through the proxy' },
  PROXY_PATH_INVALID: { status: 400, title: 'Path parameter refused' },
  // CLI as a client of a server.
  SERVER_UNREACHABLE: { status: 503, title: 'No Airclutch server answers' },
  SERVER_NOT_AIRCLUTCH: { status: 502, title: 'The server is not Airclutch' },
  SERVER_VERSION_MISMATCH: { status: 502, title: 'The server runs another Airclutch version' },
} as const satisfies Record<string, ErrorSpec>;

/** A stable error code: callers can `switch` on it. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The base class of every domain error. */
export class AirclutchError extends Error {
  override readonly name: string = 'AirclutchError';
  readonly code: ErrorCode;
  readonly status: number;
  /** Structured facts for machines (field paths, policy ids, near matches). Never secrets. */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.details = options?.details;
  }

  /** RFC 9457 problem details. */
  toProblem(instance?: string): Record<string, unknown> {
    return {
      type: `https://airclutch.dev/errors/${this.code}`,
      title: ERROR_CODES[this.code].title,
      status: this.status,
      code: this.code,
      detail: this.message,
      ...(instance ? { instance } : {}),
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

export function isAirclutchError(e: unknown): e is AirclutchError {
  return e instanceof AirclutchError;
}

/** Turns any thrown value (including non-Errors) into a one-line reason for a record or a log. */
export function describeThrown(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  if (typeof e === 'string') return e;
  try {
    return `non-Error value thrown: ${JSON.stringify(e)}`;
  } catch {
    return `non-Error value thrown: ${String(e)}`;
  }
}
