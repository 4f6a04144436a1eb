/**
 * The proxied calls that change a run or a DAG, each through the same decision as Airclutch's own
 * path: a run patched to `failed` is the gate's `cancel`; a DAG's `is_paused` is the bridge's
 * `pause` / `unpause` (an unpause may need approval); clearing task instances (`proxy-clear.ts`) is
 * the bridge's `clearTask`. Anything else such a call could do is refused, naming what is offered.
 * @module
 */
import { setPausedFor } from '../airflow/airflow-actions.ts';
import { auditDecision } from '../gate/audit-events.ts';
import { cancelRunFor } from '../gate/gate-reads.ts';
import { AirclutchError } from '../lib/errors.ts';
import {
  auditResourceOf,
  callFacts,
  decide,
  jsonBody,
  type ProxyCall,
  sendAnswer,
  sendJson,
  upstreamRequest,
} from './proxy-call.ts';
import { findProxyRun } from './proxy-runs.ts';

function notOffered(call: ProxyCall, what: string, offered: string): AirclutchError {
  return new AirclutchError(
    'PROXY_OPERATION_DENIED',
    `${call.route.operationId} with ${what} is not offered through Airclutch: ${offered}. Nothing was sent to Airflow`,
    { details: { operation: call.route.operationId } },
  );
}

/** `PATCH …/dagRuns/{dag_run_id}` with `state: failed`: the gate's cancel, then Airflow is asked. */
export async function proxyCancel(call: ProxyCall): Promise<unknown> {
  const body = jsonBody(call);
  const fields = Object.keys(body);
  if (body.state !== 'failed' || fields.some((f) => f !== 'state')) {
    throw notOffered(
      call,
      fields.length ? fields.map((f) => `${f}=${JSON.stringify(body[f])}`).join(', ') : 'no state',
      'only {"state": "failed"} (cancel) is',
    );
  }
  const { gate } = call.shared;
  const run = await findProxyRun(gate, call.target.env, call.params.dag_id!, call.params.dag_run_id!);
  const resource = auditResourceOf(run.resource);
  if (run.row && run.row.state !== 'cancelled') {
    // Airclutch's own run: the gate's cancel records the decision and the run's end in one transaction.
    await cancelRunFor(
      gate,
      call.ctx,
      run.row.id,
      `cancelled through the Airflow proxy by ${call.ctx.principal.id}`,
    );
  } else {
    const decision = await decide(call, 'cancel', run.resource, run.params);
    await call.shared.audit.record({
      ...callFacts(call),
      resource,
      decision: auditDecision('allow', decision),
      outcome: 'allowed',
    });
  }
  return forwardChange(call, resource);
}

/** `PATCH …/dags/{dag_id}` with `is_paused`: the bridge's pause or unpause; Airflow's DAG is the answer. */
export async function proxyPause(call: ProxyCall): Promise<unknown> {
  const body = jsonBody(call);
  const fields = Object.keys(body);
  if (typeof body.is_paused !== 'boolean' || fields.some((f) => f !== 'is_paused')) {
    throw notOffered(
      call,
      fields.join(', ') || 'no field',
      'only {"is_paused": true|false} (pause, unpause) is',
    );
  }
  const dagId = call.params.dag_id!;
  const facts = { ...callFacts(call), resource: { env: call.target.env, dagId } };
  const result = await setPausedFor(call.shared.bridge, call.ctx, call.target.env, dagId, body.is_paused);
  if (result.outcome === 'awaiting_approval') {
    const a = result.approval;
    const link = `/approvals/${encodeURIComponent(a.id)}`;
    await call.shared.audit.record({
      ...facts,
      resource: { ...facts.resource, approvalId: a.id },
      outcome: 'awaiting_approval',
    });
    call.reply.header('location', link);
    return sendJson(call.reply, 202, {
      detail: `unpausing ${dagId} needs approval (quorum ${a.quorum}); it stays paused until then: ${link}`,
      dag_id: dagId,
      is_paused: true,
      airclutch: { outcome: 'awaiting_approval', approval_id: a.id, approval_url: link, quorum: a.quorum },
    });
  }
  // The bridge changed it in Airflow; Airflow's view of the DAG now is the answer.
  const res = await call.target.upstream.send({
    ...upstreamRequest(call, { body: undefined, query: '' }),
    method: 'GET',
  });
  await call.shared.audit.record({
    ...facts,
    outcome: `airflow ${res.statusCode}`,
    airflowStatus: res.statusCode,
  });
  return sendAnswer(call.reply, res);
}

/** Forwards an allowed change and records Airflow's status. */
async function forwardChange(
  call: ProxyCall,
  resource: ReturnType<typeof auditResourceOf>,
): Promise<unknown> {
  const res = await call.target.upstream.send(upstreamRequest(call));
  await call.shared.audit.record({
    ...callFacts(call),
    resource,
    outcome: `airflow ${res.statusCode}`,
    airflowStatus: res.statusCode,
  });
  return sendAnswer(call.reply, res);
}
