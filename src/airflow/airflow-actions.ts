/**
 * The actions only Airflow-backed DAGs have, through the gate like every other: `pause` and
 * `unpause` a DAG (unpausing starts its Airflow schedule), and `clearTask` to retry a failed task of
 * a remote run. Cedar decides; the decision is recorded before Airflow is asked (fail closed), and
 * the result is recorded after. A refusal names the policies and what would allow it.
 *
 * Clearing a task of a run that already ended `failed` reopens it (`failed → running`): Airflow
 * runs the cleared task again in the same remote run, and the bridge follows it to its new end.
 * This is the one transition out of a final state, and only the bridge makes it.
 * @module
 */
import { actorOf } from '../audit/actor-of.ts';
import type { AuditEvent } from '../audit/audit-types.ts';
import { auditDecision } from '../gate/audit-events.ts';
import type { Gate } from '../gate/gate.ts';
import type { GateContext } from '../gate/gate-types.ts';
import { AirclutchError, describeThrown } from '../lib/errors.ts';
import type { PolicyAction } from '../policy/cedar-names.ts';
import type { PolicyRequest, PolicyResource } from '../policy/policy-engine.ts';
import type { AirflowClient } from './airflow-client.ts';
import type { BridgedDagRegistry } from './bridged-dag-registry.ts';

export interface BridgeDeps {
  readonly gate: Gate;
  readonly registry: BridgedDagRegistry;
  readonly clients: ReadonlyMap<string, AirflowClient>;
}

/**
 * Pauses or unpauses an Airflow DAG for the caller, if Cedar allows `pause` / `unpause`.
 *
 * @example
 * await setPausedFor(deps, ctx, 'prod', 'customer_export', false); // unpause: its schedule starts
 */
export async function setPausedFor(
  deps: BridgeDeps,
  ctx: GateContext,
  env: string,
  dagId: string,
  paused: boolean,
): Promise<{ env: string; dagId: string; paused: boolean }> {
  const found = deps.registry.get(env, dagId);
  const remote = deps.registry.remote(env, dagId);
  const client = deps.clients.get(env);
  if (!remote || !client) {
    throw new AirclutchError(
      'REQUEST_INVALID',
      `DAG ${env}/${dagId} is not an Airflow DAG: only Airflow DAGs can be paused`,
      {
        details: { env, dagId },
      },
    );
  }
  const action: PolicyAction = paused ? 'pause' : 'unpause';
  const resource: PolicyResource = { kind: 'dag', env, dagId };
  const event = {
    action,
    actor: actorOf(ctx.principal),
    resource: { env, dagId, dagVersion: found.version },
    source: ctx.source,
    requestId: ctx.requestId,
  };
  await decide(deps.gate, ctx, action, resource, `${env}/${dagId}`, event);
  try {
    await client.setPaused(dagId, paused);
  } catch (e) {
    await record(deps.gate, [
      { ...event, action: `airflow.${action}`, outcome: 'failed', details: { error: describeThrown(e) } },
    ]);
    throw e;
  }
  await record(deps.gate, [
    { ...event, action: `airflow.${action}`, outcome: paused ? 'paused' : 'unpaused' },
  ]);
  // The catalogue shows the new state at once rather than at its next refresh.
  await deps.registry.catalogs
    .get(env)
    ?.refresh()
    .catch(() => undefined);
  return { env, dagId, paused };
}

/**
 * Clears a failed task of a remote run so Airflow runs it again, if Cedar allows `clearTask`.
 *
 * @example
 * await clearTaskFor(deps, ctx, runId, 'upload');
 */
export async function clearTaskFor(
  deps: BridgeDeps,
  ctx: GateContext,
  runId: string,
  taskId: string,
): Promise<{ runId: string; cleared: string[] }> {
  const q = deps.gate.db.kysely;
  const row = await q
    .selectFrom('runs as r')
    .leftJoin('airflow_runs as a', 'a.run_id', 'r.id')
    .selectAll('r')
    .select(['a.remote_run_id', 'a.delivery_state'])
    .where('r.id', '=', runId)
    .executeTakeFirst();
  if (!row)
    throw new AirclutchError(
      'RUN_NOT_FOUND',
      `run ${runId} not found; airclutch runs list shows recent ones`,
    );
  const client = deps.clients.get(row.env);
  if (!client || !row.remote_run_id || row.delivery_state !== 'delivered') {
    throw new AirclutchError(
      'REQUEST_INVALID',
      `run ${runId} is not a run delivered to Airflow: only its tasks can be cleared`,
    );
  }
  const params = JSON.parse(row.params) as Record<string, unknown>;
  const resource: PolicyResource = {
    kind: 'run',
    env: row.env,
    dagId: row.dag_id,
    runId,
    requestedBy: row.requested_by,
    state: row.state,
  };
  const event = {
    action: 'clearTask',
    actor: actorOf(ctx.principal),
    resource: { env: row.env, dagId: row.dag_id, dagVersion: row.dag_version, runId, taskId },
    source: ctx.source,
    requestId: ctx.requestId,
    paramsHash: row.params_hash,
  };
  const task = await q
    .selectFrom('task_instances')
    .select('state')
    .where('run_id', '=', runId)
    .where('task_id', '=', taskId)
    .executeTakeFirst();
  if (!task) throw new AirclutchError('TASK_NOT_FOUND', `run ${runId} has no task ${taskId}`);
  if (task.state !== 'failed' && task.state !== 'upstream_failed') {
    throw new AirclutchError(
      'STATE_CONFLICT',
      `task ${taskId} of run ${runId} is ${task.state}: only a failed task can be cleared`,
    );
  }
  await decide(deps.gate, ctx, 'clearTask', resource, `run ${runId}`, event, params);
  let cleared: string[];
  try {
    cleared = await client.clearTasks(row.dag_id, row.remote_run_id, [taskId]);
  } catch (e) {
    await record(deps.gate, [
      { ...event, action: 'airflow.clear', outcome: 'failed', details: { error: describeThrown(e) } },
    ]);
    throw e;
  }
  const now = deps.gate.now();
  await q.transaction().execute(async (trx) => {
    const reopened = await trx
      .updateTable('runs')
      .set({ state: 'running', ended_at: null, error: null })
      .where('id', '=', runId)
      .where('state', '=', 'failed')
      .executeTakeFirst();
    const events: AuditEvent[] = [
      { ...event, action: 'airflow.clear', outcome: 'cleared', details: { cleared } },
    ];
    if (Number(reopened.numUpdatedRows) === 1) {
      events.push({
        action: 'run.state',
        actor: { kind: 'service', id: 'airflow-bridge' },
        source: 'bridge',
        resource: { env: row.env, dagId: row.dag_id, runId },
        outcome: 'running',
        details: { from: 'failed', reason: `task ${taskId} cleared` },
      });
    }
    await trx
      .updateTable('airflow_runs')
      .set({ remote_state: 'queued', updated_at: now })
      .where('run_id', '=', runId)
      .execute();
    await deps.gate.audit.append(events, { trx });
  });
  return { runId, cleared };
}

async function decide(
  gate: Gate,
  ctx: GateContext,
  action: PolicyAction,
  resource: PolicyResource,
  target: string,
  event: AuditEvent,
  params?: Record<string, unknown>,
): Promise<void> {
  const req: PolicyRequest = {
    principal: ctx.principal,
    action,
    resource,
    context: { params, now: new Date(gate.now()), source: ctx.source },
  };
  const decision = gate.policy.decide(req);
  if (decision.effect !== 'allow') {
    // Best effort for the refusal's own record; the refusal stands either way.
    await record(gate, [{ ...event, decision: auditDecision('deny', decision), outcome: 'denied' }]).catch(
      () => {},
    );
    throw gate.denied(action, target, req, decision);
  }
  // Fail closed: no record of the decision, no action in Airflow.
  await record(gate, [{ ...event, decision: auditDecision('allow', decision), outcome: 'allowed' }]);
}

async function record(gate: Gate, events: AuditEvent[]): Promise<void> {
  await gate.audit.append(events);
}
