/**
 * The actions only Airflow-backed DAGs have, through the gate like every other: `pause` and
 * `unpause` a DAG (unpausing starts its Airflow schedule), and `clearTask` to retry a failed task of
 * a remote run. Cedar decides; the decision is recorded before Airflow is asked (fail closed), and
 * the result is recorded after. A refusal names the policies and what would allow it.
 *
 * Clearing a task of a run that already ended `failed` reopens it (`failed → running`): Airflow
 * runs the cleared task again in the same remote run, and the bridge follows it to its new end.
 * This is the one transition out of a final state, and only the bridge makes it.
 *
 * Unpausing follows the same allow / needs approval / deny rules as a trigger: `unpause` does it
 * now; else `requestUnpause` opens an approval request (quorum and expiry from the DAG's or
 * environment's approval rules, bound to the DAG version), voted on like a run's, and the bridge
 * unpauses the DAG once it is approved (`airflow-unpause-deliverer.ts`, retried until Airflow takes
 * it); else it is denied.
 * @module
 */

import { createApprovalRequest } from '../approvals/approval-store.ts';
import { actorOf } from '../audit/actor-of.ts';
import type { AuditEvent } from '../audit/audit-types.ts';
import { auditDecision } from '../gate/audit-events.ts';
import type { Gate } from '../gate/gate.ts';
import type { ApprovalView, GateContext } from '../gate/gate-types.ts';
import { AirclutchError, describeThrown } from '../lib/errors.ts';
import { paramsHash } from '../lib/params-hash.ts';
import type { PolicyAction } from '../policy/cedar-names.ts';
import { decideUnpause } from '../policy/decide-trigger.ts';
import type { PolicyRequest, PolicyResource } from '../policy/policy-engine.ts';
import type { AirflowClient } from './airflow-client.ts';
import type { BridgedDagRegistry } from './bridged-dag-registry.ts';

export interface BridgeDeps {
  readonly gate: Gate;
  readonly registry: BridgedDagRegistry;
  readonly clients: ReadonlyMap<string, AirflowClient>;
}

/** What a pause or unpause became: done now, or (unpause) awaiting approval. */
export type PauseResult =
  | { outcome: 'done'; env: string; dagId: string; paused: boolean }
  | { outcome: 'awaiting_approval'; env: string; dagId: string; paused: boolean; approval: ApprovalView };

/** The params hash of an unpause request: what was asked, so votes bind to it. */
export function unpauseHash(env: string, dagId: string): string {
  return paramsHash({ action: 'unpause', env, dagId });
}

/**
 * Pauses or unpauses an Airflow DAG for the caller, if Cedar allows `pause` / `unpause`. An unpause
 * Cedar does not allow now but allows to request (`requestUnpause`) opens an approval request
 * instead: the DAG stays paused until it is approved. The caller's `reason` is kept in the audit
 * records (`details.reason`), where approvers are shown it (`approvalForVoter`).
 *
 * @example
 * await setPausedFor(deps, ctx, 'prod', 'customer_export', false, { reason: 'backfill done' }); // its schedule starts
 */
export async function setPausedFor(
  deps: BridgeDeps,
  ctx: GateContext,
  env: string,
  dagId: string,
  paused: boolean,
  options: { reason?: string | undefined } = {},
): Promise<PauseResult> {
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
  const reason = options.reason?.trim() || undefined;
  const event = {
    action,
    actor: actorOf(ctx.principal),
    resource: { env, dagId, dagVersion: found.version },
    source: ctx.source,
    requestId: ctx.requestId,
    ...(reason ? { details: { reason } } : {}),
  };
  if (!paused) {
    const asked = askUnpause(deps.gate, ctx, resource);
    if (asked.outcome === 'approval') {
      const rule = deps.gate.approvalRule(env, found);
      const hash = unpauseHash(env, dagId);
      const approval = await deps.gate.recorded(async (trx) => {
        const a = await createApprovalRequest(
          trx,
          {
            kind: 'approval',
            runId: null,
            action: 'unpause',
            env,
            dagId,
            dagVersion: found.version,
            paramsHash: hash,
            requestedBy: ctx.principal,
            quorum: rule.quorum,
            reason: asked.reasons.join('; ') || null,
            expiresAt: deps.gate.now() + rule.expiresAfterMs,
          },
          deps.gate.now(),
        );
        const events: AuditEvent[] = [
          {
            ...event,
            resource: { ...event.resource, approvalId: a.id },
            paramsHash: hash,
            decision: auditDecision('needs_approval', asked.decision),
            outcome: 'awaiting_approval',
            details: { quorum: a.quorum, expiresAt: a.expires_at, ...(reason ? { reason } : {}) },
          },
        ];
        return { value: a, events };
      });
      const view = { ...approval, votes: [] };
      // The approvals inbox and the UI's live stream learn of it as of a run's request.
      deps.gate.emit('approvalRequested', { run: null, approval: view, reasons: asked.reasons });
      return { outcome: 'awaiting_approval', env, dagId, paused: true, approval: view };
    }
    if (asked.outcome === 'deny') {
      await record(deps.gate, [
        { ...event, decision: auditDecision('deny', asked.decision), outcome: 'denied' },
      ]).catch(() => {});
      throw deps.gate.denied(
        'unpause',
        `${env}/${dagId}`,
        { ...asked.request, action: 'unpause' },
        asked.decision,
      );
    }
    await record(deps.gate, [
      { ...event, decision: auditDecision('allow', asked.decision), outcome: 'allowed' },
    ]);
  } else {
    await decide(deps.gate, ctx, action, resource, `${env}/${dagId}`, event);
  }
  await setPausedInAirflow(deps, env, dagId, paused, event);
  return { outcome: 'done', env, dagId, paused };
}

/** `unpause` now, else `requestUnpause` (approval), else deny: the trigger's three outcomes. */
function askUnpause(gate: Gate, ctx: GateContext, resource: PolicyResource) {
  const request = {
    principal: ctx.principal,
    resource,
    context: { now: new Date(gate.now()), source: ctx.source },
  };
  const { outcome, decision, decisions } = decideUnpause(gate.policy, request);
  // Why approval is needed: the forbid that stopped the unpause (if one did), then the permit to ask.
  const reasons =
    outcome === 'approval'
      ? [...(decisions.unpause.policies.length ? decisions.unpause.reasons : []), ...decision.reasons]
      : [];
  return { outcome, decision, reasons, request };
}

async function setPausedInAirflow(
  deps: BridgeDeps,
  env: string,
  dagId: string,
  paused: boolean,
  event: AuditEvent,
): Promise<void> {
  const client = deps.clients.get(env);
  if (!client) throw new AirclutchError('REQUEST_INVALID', `environment ${env} is not backed by Airflow`);
  const action = paused ? 'pause' : 'unpause';
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
