/**
 * What an Airflow call's failure becomes: an `AirclutchError` with a stable code (`AIRFLOW_AUTH_FAILED`,
 * `AIRFLOW_REFUSED`, `AIRFLOW_UNREACHABLE`, `AIRFLOW_TIMEOUT`) that says what to check, and whether
 * the call may be repeated.
 * @module
 */
import { AirclutchError, describeThrown } from '../lib/errors.ts';
import { detailOf } from './airflow-json.ts';

/** An answer with a non-2xx status. */
export function statusError(
  status: number,
  json: unknown,
  where: string,
  authKind: string | undefined,
): AirclutchError {
  const detail = detailOf(json);
  // Airflow's own answer stays on the error (never secret: it is what Airflow tells any caller).
  const details = { status, request: where, ...(json === undefined ? {} : { answer: json }) };
  if (status === 401) {
    return new AirclutchError(
      'AIRFLOW_AUTH_FAILED',
      `Airflow answered 401 to ${where} (${detail}): its service credentials (${authKind ?? 'none'}) were not accepted; check the credential source and the account`,
      { details },
    );
  }
  if (status >= 500) {
    return new AirclutchError('AIRFLOW_UNREACHABLE', `Airflow answered ${status} to ${where}: ${detail}`, {
      details,
    });
  }
  const hint =
    status === 403
      ? ': the service account lacks a permission for this (see docs/airflow.md for the role it needs)'
      : status === 404
        ? ': Airflow has no such object (a DAG removed or not yet parsed?)'
        : '';
  return new AirclutchError('AIRFLOW_REFUSED', `Airflow answered ${status} to ${where}: ${detail}${hint}`, {
    details,
  });
}

/** A call that got no answer: refused, reset, or timed out. */
export function networkError(e: unknown, where: string, baseUrl: string, timeoutMs: number): AirclutchError {
  const name = e instanceof Error ? e.name : '';
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new AirclutchError(
      'AIRFLOW_TIMEOUT',
      `Airflow at ${baseUrl} did not answer ${where} within ${timeoutMs} ms`,
      {
        cause: e,
        details: { request: where, timeoutMs },
      },
    );
  }
  const cause = e instanceof Error && e.cause !== undefined ? e.cause : e;
  const code = (cause as { code?: unknown } | undefined)?.code;
  return new AirclutchError(
    'AIRFLOW_UNREACHABLE',
    `Airflow at ${baseUrl} cannot be reached for ${where}: ${typeof code === 'string' ? code : describeThrown(cause)}`,
    { cause: e, details: { request: where } },
  );
}

/** Whether a call that failed this way may be repeated (no answer, or it timed out). */
export function isRetryable(e: AirclutchError): boolean {
  return e.code === 'AIRFLOW_UNREACHABLE' || e.code === 'AIRFLOW_TIMEOUT';
}
