/**
 * Reading the audit trail through the gate, for the CLI and the HTTP API alike. Cedar `readAudit`
 * decides: a query returns only the records the caller may read, a query for one environment and
 * an export or verification of the whole chain need `readAudit` on that environment (or on every
 * one), and those refusals are recorded in the trail like any other.
 * @module
 */
import { actorOf } from '../audit/actor-of.ts';
import type { AuditRecord } from '../audit/audit-types.ts';
import { type AuditFilters, type AuditPage, queryAudit } from '../audit/query-audit.ts';
import type { Decision, PolicyRequest, PolicyResource } from '../policy/policy-engine.ts';
import { auditDecision } from './audit-events.ts';
import type { Gate } from './gate.ts';
import type { GateContext } from './gate-types.ts';

function readAuditRequest(gate: Gate, ctx: GateContext, resource: PolicyResource): PolicyRequest {
  return {
    principal: ctx.principal,
    action: 'readAudit',
    resource,
    context: { now: new Date(gate.now()), source: ctx.source },
  };
}

/**
 * Asks Cedar for `readAudit` on each environment; on the first deny, records the refusal and throws
 * `POLICY_DENIED` naming the policies and what would allow it.
 *
 * @example
 * await authorizeAuditRead(gate, ctx, Object.keys(config.environments)); // before an export
 */
export async function authorizeAuditRead(
  gate: Gate,
  ctx: GateContext,
  envs: readonly string[],
): Promise<void> {
  for (const env of envs) {
    const req = readAuditRequest(gate, ctx, { kind: 'env', env });
    const decision = gate.policy.decide(req);
    if (decision.effect !== 'allow') {
      await recordRefusal(gate, ctx, env, decision);
      throw gate.denied('readAudit', `environment ${env}`, req, decision);
    }
  }
}

/** Every configured environment: exporting or verifying the whole chain needs `readAudit` on each. */
export function authorizeWholeTrail(gate: Gate, ctx: GateContext): Promise<void> {
  return authorizeAuditRead(gate, ctx, Object.keys(gate.config.environments));
}

/** Whether the caller may read one record: `readAudit` on its DAG (when loaded) or its environment, asked once per request for each. */
export function auditReadChecker(gate: Gate, ctx: GateContext): (record: AuditRecord) => boolean {
  const cache = new Map<string, boolean>();
  return (r) => {
    const env = r.resource?.env ?? gate.config.defaultEnv;
    const dagId = r.resource?.dagId;
    const resource: PolicyResource =
      dagId && gate.dags.find(env, dagId) ? { kind: 'dag', env, dagId } : { kind: 'env', env };
    const key = `${env}/${resource.kind === 'dag' ? resource.dagId : ''}`;
    let ok = cache.get(key);
    if (ok === undefined) {
      ok = gate.policy.decide(readAuditRequest(gate, ctx, resource)).effect === 'allow';
      cache.set(key, ok);
    }
    return ok;
  };
}

/**
 * One page of the records the caller may read, oldest first. Filtering by `env` first needs
 * `readAudit` on that environment (a refusal is recorded and thrown).
 *
 * @example
 * const page = await queryAuditFor(gate, ctx, { action: 'trigger', limit: 50 });
 */
export async function queryAuditFor(gate: Gate, ctx: GateContext, filters: AuditFilters): Promise<AuditPage> {
  if (filters.env !== undefined) await authorizeAuditRead(gate, ctx, [filters.env]);
  return queryAudit(gate.db, filters, { canRead: auditReadChecker(gate, ctx) });
}

async function recordRefusal(gate: Gate, ctx: GateContext, env: string, decision: Decision): Promise<void> {
  try {
    await gate.audit.append([
      {
        action: 'readAudit',
        actor: actorOf(ctx.principal),
        resource: { env },
        source: ctx.source,
        requestId: ctx.requestId,
        decision: auditDecision('deny', decision),
        outcome: 'denied',
      },
    ]);
  } catch (e) {
    // The refusal stands even when the trail is down; that failure is reported.
    process.emitWarning(`audit record of a refusal could not be written: ${(e as Error).message}`);
  }
}
