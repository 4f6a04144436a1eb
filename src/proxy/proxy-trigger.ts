/**
 * `POST …/dags/{dag_id}/dagRuns` through the proxy: the same gate call as the API's trigger (`conf`
 * is the params, validated against the DAG's params schema), with its three outcomes:
 *
 * - **allowed**: the bridge's executor delivers the run (once; `dag_run_id` is Airclutch's own,
 *   `airclutch__<run id>`) and follows it; the caller gets Airflow's answer to that delivery,
 *   unchanged. The caller's own `dag_run_id` is its idempotency key (sent again, it gets Airflow's
 *   409, as from Airflow) and an alias of the run in every run path (`run-alias.ts`).
 * - **needs approval**: `202 Accepted`, with `Location: /approvals/<id>` and a JSON body naming the
 *   approval (docs/proxy.md says why 202).
 * - **denied**: 403 with the reasons and what would allow it (`POLICY_DENIED`, as the API answers).
 * @module
 */
import { AirclutchError, isAirclutchError } from '../lib/errors.ts';
import { isUniqueViolation } from '../store/is-unique-violation.ts';
import { callFacts, jsonBody, type ProxyCall, sendJson } from './proxy-call.ts';
import { REMOTE_PREFIX } from './proxy-runs.ts';
import { aliasKeyOf, resolveRunAlias } from './run-alias.ts';

/** Where Airflow 2.10's problem documents point (`EXCEPTIONS_LINK_MAP`). */
const AIRFLOW_2_ERRORS =
  'https://airflow.apache.org/docs/apache-airflow/2.10.5/stable-rest-api-ref.html#section/Errors';

export async function proxyTrigger(call: ProxyCall): Promise<unknown> {
  const { gate } = call.shared;
  const { env, client } = call.target;
  const dagId = call.params.dag_id as string;
  const body = jsonBody(call);
  const conf = body.conf ?? {};
  if (!conf || typeof conf !== 'object' || Array.isArray(conf)) {
    throw new AirclutchError('PARAMS_INVALID', 'conf must be a JSON object: its keys are the DAG params');
  }
  const clientRunId = typeof body.dag_run_id === 'string' && body.dag_run_id ? body.dag_run_id : undefined;
  if (clientRunId?.startsWith(REMOTE_PREFIX)) {
    throw new AirclutchError(
      'REQUEST_INVALID',
      `dag_run_id ${JSON.stringify(clientRunId)} starts with ${REMOTE_PREFIX}, which Airclutch keeps for the runs it delivers: choose another id, or send none`,
    );
  }
  const facts = { ...callFacts(call), resource: { env, dagId } };
  if (clientRunId && (await existing(call, dagId, clientRunId))) return duplicate(call, dagId, clientRunId);
  const logical = body.logical_date ?? body.execution_date;
  const logicalMs = typeof logical === 'string' ? Date.parse(logical) : Number.NaN;
  if (typeof logical === 'string' && !Number.isFinite(logicalMs)) {
    throw new AirclutchError(
      'REQUEST_INVALID',
      `logical_date ${JSON.stringify(logical)} is not an ISO 8601 date-time`,
    );
  }
  let result: Awaited<ReturnType<typeof gate.trigger>>;
  try {
    result = await gate.trigger(call.ctx, {
      env,
      dagId,
      params: conf,
      ...(typeof body.note === 'string' ? { note: body.note } : {}),
      // The caller's logical date, if it chose one, is the run's and is sent to Airflow as is.
      ...(Number.isFinite(logicalMs) ? { logicalDate: logicalMs } : {}),
      ...(clientRunId ? { scheduleKey: aliasKeyOf(clientRunId) } : {}),
    });
  } catch (e) {
    if (clientRunId && isUniqueViolation(e)) return duplicate(call, dagId, clientRunId);
    // The gate recorded its decision; this records what the proxy answered.
    await call.shared.audit.refusal({
      ...facts,
      outcome: isAirclutchError(e) && e.code === 'POLICY_DENIED' ? 'denied' : 'refused',
      details: { code: isAirclutchError(e) ? e.code : 'INTERNAL' },
    });
    throw e;
  }
  const runId = result.run.id;
  if (result.outcome === 'awaiting_approval') {
    const a = result.approval;
    await call.shared.audit.record({
      ...facts,
      resource: { ...facts.resource, runId, approvalId: a.id },
      outcome: 'awaiting_approval',
    });
    const link = `/approvals/${encodeURIComponent(a.id)}`;
    call.reply.header('location', link);
    return sendJson(call.reply, 202, {
      detail: `this trigger needs approval (quorum ${a.quorum}) before Airclutch delivers it to Airflow: ${link}`,
      dag_id: dagId,
      dag_run_id: `${REMOTE_PREFIX}${runId}`,
      state: 'awaiting_approval',
      airclutch: {
        outcome: 'awaiting_approval',
        run_id: runId,
        approval_id: a.id,
        approval_url: link,
        approval_api: `/api/v1/approvals/${encodeURIComponent(a.id)}`,
        quorum: a.quorum,
        expires_at: a.expires_at === null ? null : new Date(a.expires_at).toISOString(),
        reasons: result.decision.reasons,
      },
    });
  }
  const answer = await client.triggerAnswers.wait(`${REMOTE_PREFIX}${runId}`, call.shared.config.timeoutMs);
  const status = answer?.kind === 'answer' ? answer.status : undefined;
  await call.shared.audit.record({
    ...facts,
    resource: { ...facts.resource, runId },
    outcome: status === undefined ? 'queued' : `airflow ${status}`,
    ...(status === undefined ? {} : { airflowStatus: status }),
  });
  if (answer?.kind === 'answer') return sendJson(call.reply, answer.status, answer.body);
  // Not delivered yet (Airflow down or slow): the run is decided and queued; the bridge keeps trying.
  call.reply.header('location', `/runs/${encodeURIComponent(runId)}`);
  return sendJson(call.reply, 202, {
    detail: `the run is allowed and recorded, but Airflow has not taken it yet (${answer?.kind === 'undelivered' ? answer.error : `no answer within ${call.shared.config.timeoutMs} ms`}); Airclutch keeps delivering it: do not trigger again`,
    dag_id: dagId,
    dag_run_id: `${REMOTE_PREFIX}${runId}`,
    state: 'queued',
    airclutch: { outcome: 'queued', run_id: runId },
  });
}

async function existing(call: ProxyCall, dagId: string, clientRunId: string): Promise<boolean> {
  return (await resolveRunAlias(call.shared.gate, call.target.env, dagId, clientRunId)) !== undefined;
}

/**
 * Airflow's own 409 for a `dag_run_id` used before, in its version's error shape: Airflow 3 answers
 * a duplicate run id from its unique-constraint handler (`detail` is an object), Airflow 2 with a
 * problem document (`AlreadyExists`).
 */
async function duplicate(call: ProxyCall, dagId: string, clientRunId: string) {
  await call.shared.audit.record({
    ...callFacts(call),
    resource: { env: call.target.env, dagId },
    outcome: 'duplicate',
    details: { dagRunId: clientRunId },
  });
  const message = `DAG ${dagId} already has a run triggered through Airclutch with dag_run_id '${clientRunId}': read it with GET …/dagRuns/${clientRunId}`;
  return sendJson(
    call.reply,
    409,
    call.target.api === 'v2'
      ? {
          detail: {
            reason: 'Unique constraint violation',
            statement: 'INSERT INTO dag_run',
            orig_error: `UNIQUE constraint failed: dag_run.dag_id, dag_run.run_id (${dagId}, ${clientRunId})`,
            message,
          },
        }
      : {
          type: `${AIRFLOW_2_ERRORS}/AlreadyExists`,
          title: 'Conflict',
          status: 409,
          detail: `DAGRun with DAG ID: '${dagId}' and DAGRun ID: '${clientRunId}' already exists`,
        },
  );
}
