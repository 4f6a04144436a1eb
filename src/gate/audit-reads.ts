/**
 * Reading the audit trail through the gate, for the CLI and the HTTP API alike. Cedar `readAudit`
 * decides: a query returns only the records the caller may read, a query for one environment and
 * an export or verification of the whole chain need `readAudit` on that environment (or on every
 * one), and those refusals are recorded in the trail like any other.
 * @module
 */
import type { AuditRecord } from '../audit/audit-types.ts';
import { type AuditFilters, type AuditPage, queryAudit } from '../audit/query-audit.ts';
import type { PolicyRequest, PolicyResource } from '../policy/policy-engine.ts';
import { deniedEvent } from './audit-events.ts';
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
      await gate.recordRefusal(deniedEvent(ctx, 'readAudit', { kind: 'env', env }, decision));
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
 * Why a query shows the caller nothing at all, or undefined when they may read some records: `readAudit`
 * is denied on every environment and on every loaded DAG (named `dagId`, when the query names one).
 * The query itself is answered (an empty page), so this says what would allow it instead, as a
 * refusal would. It asks Cedar once per environment and DAG, so it is for an empty first page only.
 */
export function auditReadNotice(gate: Gate, ctx: GateContext, dagId?: string): string | undefined {
  // The default environment first: its refusal is the one the notice gives.
  const env = gate.config.defaultEnv;
  const req = readAuditRequest(gate, ctx, { kind: 'env', env });
  const decision = gate.policy.decide(req);
  if (decision.effect === 'allow') return undefined;
  const resources: PolicyResource[] = [
    ...Object.keys(gate.config.environments)
      .filter((e) => e !== env)
      .map((e) => ({ kind: 'env' as const, env: e })),
    ...gate.dags
      .list()
      .filter((d) => dagId === undefined || d.dag.id === dagId)
      .map((d) => ({ kind: 'dag' as const, env: d.env, dagId: d.dag.id })),
  ];
  for (const r of resources)
    if (gate.policy.decide(readAuditRequest(gate, ctx, r)).effect === 'allow') return undefined;
  const target = dagId === undefined ? 'any environment or DAG' : `any environment or DAG ${dagId}`;
  return gate.denied('readAudit', target, req, decision).message;
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
