/**
 * Who may approve a request: the principals that `approve` permits name (a group, a person, a
 * service, or anyone), each kept only when Cedar, asked as a member of it, allows the vote. So a
 * permit whose condition rules out these params, or a forbid on top of it, names no one.
 * @module
 */
import type { EntityUidJson, PrincipalConstraint } from '@cedar-policy/cedar-wasm/nodejs';
import type { Principal } from '../identity/principal.ts';
import { cedarType, ENTITY } from './cedar-names.ts';
import { actionMatches, resourceMatches } from './explain-decision.ts';
import type { Approver, Decision, PolicyRequest } from './policy-engine.ts';
import type { ActivePolicies } from './policy-store.ts';

/**
 * The approvers of `request` (action `approve`), in policy order, without duplicates.
 *
 * @example
 * approversOf(store.current(), approveRequest, (r) => engine.decide(r));
 * // [{ kind: 'group', id: 'data-leads' }]
 */
export function approversOf(
  active: ActivePolicies | undefined,
  request: PolicyRequest,
  decide: (r: PolicyRequest) => Decision,
): Approver[] {
  if (!active) return [];
  const r = request.resource;
  const scope = active.scopes.get(r.kind === 'env' ? r.env : `${r.env}/${r.dagId}`);
  const out: Approver[] = [];
  const seen = new Set<string>();
  for (const id of scope?.policyIds ?? []) {
    const p = active.policies.get(id);
    if (p?.effect !== 'permit' || !actionMatches(p, request.action) || !resourceMatches(p, request)) continue;
    const named = approverOf(p.json.principal);
    if (!named) continue;
    const key = `${named.kind}:${named.id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (decide({ ...request, principal: memberOf(named) }).effect === 'allow') out.push(named);
  }
  return out;
}

function approverOf(c: PrincipalConstraint): Approver | undefined {
  switch (c.op) {
    case 'All':
      return { kind: 'anyone', id: null };
    case '==':
    case 'in': {
      if (!('entity' in c)) return undefined;
      const u = plain(c.entity);
      if (u.type === cedarType(ENTITY.group)) return { kind: 'group', id: u.id };
      if (u.type === cedarType(ENTITY.user)) return { kind: 'user', id: u.id };
      if (u.type === cedarType(ENTITY.service)) return { kind: 'service', id: u.id };
      return undefined;
    }
    case 'is':
      if (c.in && 'entity' in c.in) {
        const u = plain(c.in.entity);
        if (u.type === cedarType(ENTITY.group)) return { kind: 'group', id: u.id };
      }
      return c.entity_type === cedarType(ENTITY.user) ? { kind: 'anyone', id: null } : undefined;
    default:
      return undefined;
  }
}

/** A principal that stands for the approver: a member of the group, or the named person or service. */
function memberOf(a: Approver): Principal {
  const id = a.kind === 'user' || a.kind === 'service' ? (a.id as string) : `member of ${a.id ?? 'anyone'}`;
  return {
    kind: a.kind === 'service' ? 'service' : 'user',
    id,
    groups: a.kind === 'group' ? [a.id as string] : [],
    issuer: 'what-if',
    subject: id,
    token: { scopes: [], amr: [] },
  };
}

function plain(uid: EntityUidJson): { type: string; id: string } {
  return '__entity' in uid ? uid.__entity : uid;
}
