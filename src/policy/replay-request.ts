/**
 * Rebuilds the policy request an audited decision answered: the principal from the actor columns, the
 * resource from env, DAG, run and approval request, and the context from the recorded params, source
 * and time. What the trail does not keep in plaintext (sensitive params, token facts) is reported, so
 * replay can say a decision is not replayable instead of guessing.
 * @module
 */
import type { AuditRecord } from '../audit/audit-types.ts';
import { type Principal, principalRef } from '../identity/principal.ts';
import { type RequestSource, SOURCES } from './cedar-names.ts';
import type { PolicyEngine, PolicyRequest, PolicyResource } from './policy-engine.ts';

/** Store facts a record only points to: the run's params and requester, an approval's requester. */
export interface ReplayLookups {
  readonly runs: ReadonlyMap<string, { params: string; requestedBy: string }>;
  readonly approvals: ReadonlyMap<string, { requestedBy: string }>;
}

export type RebuiltRequest =
  | { readonly ok: true; readonly request: PolicyRequest }
  | { readonly ok: false; readonly why: string };

const SOURCE_SET: ReadonlySet<string> = new Set(SOURCES);

/** The request behind `record` (trigger requests carry `action: 'trigger'`), or why it cannot be rebuilt. */
export function rebuildRequest(record: AuditRecord, lookups: ReplayLookups): RebuiltRequest {
  const a = record.actor;
  if (!a || (a.kind !== 'user' && a.kind !== 'service')) return fail('the record names no user or service');
  const r = record.resource;
  if (!r?.env || !r.dagId) return fail('the record names no environment and DAG');
  if (!record.source || !SOURCE_SET.has(record.source))
    return fail(`source ${record.source} is not a request source`);
  const principal: Principal = {
    kind: a.kind,
    id: a.id,
    groups: [...(a.groups ?? [])],
    issuer: a.issuer ?? '',
    subject: a.subject ?? a.id,
    ...(a.displayName ? { displayName: a.displayName } : {}),
  };
  const run = r.runId ? lookups.runs.get(r.runId) : undefined;
  let resource: PolicyResource = { kind: 'dag', env: r.env, dagId: r.dagId };
  let params = record.params ?? undefined;
  let action: PolicyRequest['action'];
  switch (record.action) {
    case 'trigger':
    case 'breakGlass':
      action = record.action;
      break;
    case 'approve':
    case 'deny':
    case 'review': {
      const approval = r.approvalId ? lookups.approvals.get(r.approvalId) : undefined;
      if (!approval) return fail(`approval request ${r.approvalId} is no longer in the store`);
      action = 'approve';
      resource = {
        ...resource,
        kind: 'approvalRequest',
        requestId: r.approvalId!,
        requestedBy: approval.requestedBy,
      };
      break;
    }
    case 'cancel':
      if (!run) return fail(`run ${r.runId} is no longer in the store`);
      action = 'cancel';
      // The run's state at the time is not recorded; policies reading resource.state cannot be replayed.
      resource = { ...resource, kind: 'run', runId: r.runId!, requestedBy: run.requestedBy };
      break;
    default:
      return fail(`${record.action} is not a decision replay knows`);
  }
  if (!params && record.action !== 'trigger' && record.action !== 'breakGlass') {
    if (!run) return fail(`run ${r.runId} is no longer in the store`);
    params = JSON.parse(run.params) as Record<string, unknown>;
  }
  return {
    ok: true,
    request: {
      principal,
      action,
      resource,
      context: { params, now: new Date(record.ts), source: record.source as RequestSource },
    },
  };
}

/**
 * Why the policies in scope cannot be replayed on what the trail keeps, or undefined when they can:
 * a policy reads a param stored only as an HMAC, or the token facts (MFA, scopes, auth time), which
 * the trail does not keep at all.
 */
export function unreplayableBecause(engine: PolicyEngine, request: PolicyRequest): string | undefined {
  const hidden = Object.entries(request.context.params ?? {})
    .filter(([, v]) => typeof v === 'string' && v.startsWith('hmac:'))
    .map(([k]) => k);
  const reads = engine.reads?.(request);
  if (!reads) return hidden.length ? `params ${hidden.join(', ')} are stored only as HMACs` : undefined;
  const context = reads.context;
  const params = context === 'all' ? 'all' : context.get('params');
  const read = params === 'all' ? hidden : hidden.filter((k) => params?.has(k));
  if (read.length)
    return `reads sensitive param${read.length > 1 ? 's' : ''} ${read.join(', ')}, stored only as an HMAC`;
  if (context === 'all' || context.has('token'))
    return 'a policy in scope reads context.token (MFA, scopes, auth time), which the audit trail does not keep';
  return undefined;
}

/** `User::"ana@example.com"`, the way records name their actor in replay's output. */
export function actorRef(record: AuditRecord): string {
  const a = record.actor;
  return a && (a.kind === 'user' || a.kind === 'service')
    ? principalRef({ kind: a.kind, id: a.id })
    : '(none)';
}

function fail(why: string): RebuiltRequest {
  return { ok: false, why };
}
