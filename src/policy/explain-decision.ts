/**
 * Explains a decision: the determining policies in full and, for a deny, which permits could allow the
 * request. Cedar tells us which policies determined the answer; for "what would allow it" we read the
 * scopes of the permits in the request's policy set (principal, action, resource), which Cedar gives as
 * JSON, and say who they admit and whether their conditions stood in the way.
 * @module
 */
import type { EntityUidJson, PrincipalConstraint, ResourceConstraint } from '@cedar-policy/cedar-wasm/nodejs';
import { actionIn, cedarType, ENTITY } from './cedar-names.ts';
import type { Decision, Explanation, PolicyRequest, PolicySummary } from './policy-engine.ts';
import type { LoadedPolicy } from './policy-sources.ts';
import type { ActivePolicies } from './policy-store.ts';

/** Builds the explanation of `decision` for `request`. */
export function explainDecision(
  active: ActivePolicies | undefined,
  request: PolicyRequest,
  decision: Decision,
): Explanation {
  const summary = (id: string): PolicySummary => {
    const p = active?.policies.get(id);
    return { id, effect: p?.effect ?? 'permit', text: p?.text ?? '', annotations: p?.annotations ?? {} };
  };
  const determining = decision.policies.map(summary);
  if (decision.effect === 'allow' || !active) return { decision, determining, wouldAllow: [] };
  const r = request.resource;
  const scope = active.scopes.get(r.kind === 'env' ? r.env : `${r.env}/${r.dagId}`);
  const wouldAllow: string[] = [];
  for (const id of scope?.policyIds ?? []) {
    const p = active.policies.get(id)!;
    if (p.effect !== 'permit' || !actionMatches(p, request.action) || !resourceMatches(p, request)) continue;
    const who = describePrincipal(p.json.principal);
    const conditions = p.json.conditions.length ? ' when its conditions hold' : '';
    const you = principalMatches(p.json.principal, request)
      ? ' (you are in its scope: its conditions did not hold)'
      : '';
    wouldAllow.push(`${id} would allow ${who}${conditions}${you}`);
  }
  for (const f of determining.filter((d) => d.effect === 'forbid')) {
    wouldAllow.push(
      `${f.id} forbids this request${f.annotations.reason ? `: ${f.annotations.reason}` : ''}; no permit can override it`,
    );
  }
  return { decision, determining, wouldAllow };
}

/** Whether the policy's action scope covers `action` (directly or through an action group). */
export function actionMatches(p: LoadedPolicy, action: string): boolean {
  const a = p.json.action;
  if (a.op === 'All') return true;
  if (a.op === '==') return 'entity' in a && uidId(a.entity) === action;
  const targets = 'entities' in a ? a.entities : [a.entity];
  return targets.some((t) => actionIn(action, uidId(t)));
}

/** Whether the policy's resource scope can cover the request's resource (its DAG or environment). */
export function resourceMatches(p: LoadedPolicy, request: PolicyRequest): boolean {
  const c: ResourceConstraint = p.json.resource;
  const r = request.resource;
  const dagId = r.kind === 'env' ? undefined : `${r.env}/${r.dagId}`;
  const ancestors = [
    `${cedarType(ENTITY.env)}::${r.env}`,
    ...(dagId ? [`${cedarType(ENTITY.dag)}::${dagId}`] : []),
  ];
  switch (c.op) {
    case 'All':
    case 'is':
      return true;
    case '==':
      return 'entity' in c && (uidKey(c.entity) === ancestors.at(-1) || r.kind !== 'dag');
    case 'in':
      return 'entity' in c && ancestors.includes(uidKey(c.entity));
    default:
      return true;
  }
}

function principalMatches(c: PrincipalConstraint, request: PolicyRequest): boolean {
  const p = request.principal;
  const self = `${cedarType(p.kind === 'user' ? ENTITY.user : ENTITY.service)}::${p.id}`;
  switch (c.op) {
    case 'All':
      return true;
    case '==':
      return 'entity' in c && uidKey(c.entity) === self;
    case 'in':
      return (
        'entity' in c &&
        (uidKey(c.entity) === self ||
          p.groups.some((g) => uidKey(c.entity) === `${cedarType(ENTITY.group)}::${g}`))
      );
    case 'is':
      return c.entity_type === self.split('::')[0];
    default:
      return false;
  }
}

function describePrincipal(c: PrincipalConstraint): string {
  switch (c.op) {
    case 'All':
      return 'any principal';
    case '==':
      return 'entity' in c ? uidText(c.entity) : 'a template slot';
    case 'in':
      return 'entity' in c ? `members of ${uidText(c.entity)}` : 'a template slot';
    case 'is':
      return `any ${c.entity_type}${c.in && 'entity' in c.in ? ` in ${uidText(c.in.entity)}` : ''}`;
    default:
      return 'some principals';
  }
}

function plain(uid: EntityUidJson): { type: string; id: string } {
  return '__entity' in uid ? uid.__entity : uid;
}
function uidId(uid: EntityUidJson): string {
  return plain(uid).id;
}
function uidKey(uid: EntityUidJson): string {
  const u = plain(uid);
  return `${u.type}::${u.id}`;
}
function uidText(uid: EntityUidJson): string {
  const u = plain(uid);
  return `${u.type}::${JSON.stringify(u.id)}`;
}
