/**
 * The idempotent trigger: `POST …/dags/{dag_id}/dagRuns` with the `dag_run_id` Airclutch chose, so
 * that a retry is the same remote run. When the answer is lost (a timeout after sending, a 5xx), the
 * run is looked up by its id: found means delivered; absent means the trigger is sent again. A 409
 * for our own run id means an earlier attempt did land. Airflow's answer (or why there was none) is
 * kept in `TriggerAnswers` for the proxy to pass back.
 * @module
 */
import { AirclutchError, describeThrown } from '../lib/errors.ts';
import type { Answer, CallOptions } from './airflow-client.ts';
import { isRetryable } from './airflow-errors.ts';
import { detailOf, toRun } from './airflow-json.ts';
import type { AirflowApiVersion, RemoteRun, TriggerRequest } from './airflow-types.ts';
import type { TriggerAnswers } from './trigger-answers.ts';

/** What the trigger needs of the client: its authenticated call, with its retry policy. */
export interface TriggerTransport {
  readonly api: AirflowApiVersion;
  readonly retries: number;
  call(method: string, path: string, o: CallOptions): Promise<Answer>;
  sleep(ms: number): Promise<void>;
  backoff(attempt: number): number;
}

/**
 * Creates the remote run exactly once, and settles its answer in `answers`.
 *
 * @example
 * const run = await triggerRun(transport, client.triggerAnswers, { dagId, runId: 'airclutch__r1', conf, note, logicalDate });
 */
export async function triggerRun(
  tp: TriggerTransport,
  answers: TriggerAnswers,
  t: TriggerRequest,
): Promise<RemoteRun> {
  try {
    return await deliver(tp, answers, t);
  } catch (e) {
    const status = e instanceof AirclutchError ? e.details?.status : undefined;
    const answer = e instanceof AirclutchError ? e.details?.answer : undefined;
    answers.settle(
      t.runId,
      e instanceof AirclutchError &&
        e.code === 'AIRFLOW_REFUSED' &&
        typeof status === 'number' &&
        answer !== undefined
        ? { kind: 'answer', status, body: answer }
        : { kind: 'undelivered', error: describeThrown(e) },
    );
    throw e;
  }
}

async function deliver(tp: TriggerTransport, answers: TriggerAnswers, t: TriggerRequest): Promise<RemoteRun> {
  const body: Record<string, unknown> = { dag_run_id: t.runId, conf: t.conf, note: t.note };
  // Airflow 3 requires logical_date and takes null for "no data interval" (run_after = now), which is
  // what a run without a logical date of its own gets. Airflow 2 needs a logical date that is unique
  // per DAG, so a run without one is sent the decision's time.
  body.logical_date = tp.api === 'v2' && !t.logicalDateChosen ? null : t.logicalDate;
  const path = `/dags/${encodeURIComponent(t.dagId)}/dagRuns`;
  const answered = (res: Answer): RemoteRun => {
    answers.settle(t.runId, { kind: 'answer', status: res.status, body: res.json });
    return toRun(res.json as Record<string, unknown>);
  };
  const lookUp = () =>
    tp.call('GET', `${path}/${encodeURIComponent(t.runId)}`, { safe: true, accept: [404] });
  let lastError: AirclutchError | undefined;
  for (let attempt = 0; attempt <= tp.retries; attempt++) {
    if (attempt > 0) await tp.sleep(tp.backoff(attempt));
    try {
      const res = await tp.call('POST', path, { safe: false, body, accept: [409] });
      if (res.status !== 409) return answered(res);
      const existing = await lookUp();
      if (existing.status !== 404) return answered(existing);
      throw new AirclutchError(
        'AIRFLOW_REFUSED',
        `Airflow answered 409 to the trigger of ${t.dagId}: ${detailOf(res.json)}`,
        { details: { status: 409, dagId: t.dagId, runId: t.runId, answer: res.json } },
      );
    } catch (e) {
      // After these, the trigger may or may not have reached Airflow.
      if (!(e instanceof AirclutchError) || !isRetryable(e)) throw e;
      lastError = e;
      // The request may have reached Airflow: ask before sending it again.
      const existing = await lookUp().catch(() => undefined);
      if (existing && existing.status !== 404) return answered(existing);
    }
  }
  throw lastError as AirclutchError;
}
