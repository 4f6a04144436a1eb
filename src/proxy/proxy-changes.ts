/**
 * The proxied calls that change a run or a DAG, each through the same decision as Airclutch's own
 * path: a run patched to `failed` is the gate's `cancel`; a DAG's `is_paused` is the bridge's
 * `pause` / `unpause` (an unpause may need approval); clearing task instances is the bridge's
 * `clearTask`. Anything else such a call could do is refused, naming what is offered.
 * @module
 */
import { setPausedFor } from '../airflow/airflow-actions.ts';
import type { AuditEvent } from '../audit/audit-types.ts';
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
import { findProxyRun, type ProxyRun } from './proxy-runs.ts';

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

/**
 * `POST …/clearTaskInstances` (one named run) and `POST …/dagRuns/{id}/clear`: Cedar `clearTask` on
 * the run, then Airflow is asked. A cleared Airclutch run that had ended `failed` is reopened, as the
 * bridge's own clear does, so the executor follows it to its new end.
 */
export async function proxyClear(call: ProxyCall, scope: 'tasks' | 'run'): Promise<unknown> {
  const body = jsonBody(call);
  const dagRunId = scope === 'run' ? call.params.dag_run_id : body.dag_run_id;
  if (typeof dagRunId !== 'string' || !dagRunId) {
    throw notOffered(call, 'no dag_run_id', 'clearing is decided per run: name the run in dag_run_id');
  }
  const { gate } = call.shared;
  const run = await findProxyRun(gate, call.target.env, call.params.dag_id!, dagRunId);
  const decision = await decide(call, 'clearTask', run.resource, run.params);
  const resource = auditResourceOf(run.resource);
  await call.shared.audit.record({
    ...callFacts(call),
    resource,
    decision: auditDecision('allow', decision),
    outcome: 'allowed',
    details: {
      dryRun: body.dry_run === true,
      tasks: Array.isArray(body.task_ids) ? body.task_ids.map(String) : 'all',
    },
  });
  const res = await call.target.upstream.send(upstreamRequest(call));
  if (res.statusCode === 200 && body.dry_run !== true && run.row) await reopen(call, run);
  await call.shared.audit.record({
    ...callFacts(call),
    resource,
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

/** `failed → running` for a cleared Airclutch run, recorded, so the bridge follows it again. */
async function reopen(call: ProxyCall, run: ProxyRun): Promise<void> {
  const { gate } = call.shared;
  const row = run.row!;
  await gate.db.kysely.transaction().execute(async (trx) => {
    const reopened = await trx
      .updateTable('runs')
      .set({ state: 'running', ended_at: null, error: null })
      .where('id', '=', row.id)
      .where('state', '=', 'failed')
      .executeTakeFirst();
    if (Number(reopened.numUpdatedRows) !== 1) return;
    await trx
      .updateTable('airflow_runs')
      .set({ remote_state: 'queued', updated_at: gate.now() })
      .where('run_id', '=', row.id)
      .execute();
    const event: AuditEvent = {
      action: 'run.state',
      actor: { kind: 'service', id: 'airflow-bridge' },
      source: 'bridge',
      resource: { env: row.env, dagId: row.dag_id, runId: row.id },
      outcome: 'running',
      details: {
        from: 'failed',
        reason: `tasks cleared through the Airflow proxy by ${call.ctx.principal.id}`,
      },
    };
    await gate.audit.append([event], { trx });
  });
}
