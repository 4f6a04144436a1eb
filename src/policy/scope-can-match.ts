/**
 * Whether a policy's scope (`principal`, `action`, `resource` constraints) can match a request, told
 * from the request alone. A compiled test answers false only when the scope certainly fails with the
 * entities `buildCedarRequest` passes: the principal's ancestors are exactly its groups, the action's
 * are its action groups, a DAG's is its environment, a run's or approval request's are its DAG and its
 * environment. A policy whose scope fails is neither satisfied nor erroring in Cedar (the scope is
 * checked before the conditions), so leaving it out of the set Cedar evaluates cannot change the
 * decision. Anything not fully understood here (template slots, other shapes) counts as a possible match.
 * @module
 */
import type {
  ActionConstraint,
  EntityUidJson,
  PolicyJson,
  PrincipalConstraint,
  ResourceConstraint,
} from '@cedar-policy/cedar-wasm/nodejs';
import { actionIn, cedarType, ENTITY } from './cedar-names.ts';
import type { PolicyRequest } from './policy-engine.ts';

/** A well-formed request reduced to what scopes test. */
export interface ScopeFacts {
  readonly principalType: string;
  readonly principalId: string;
  readonly groups: readonly string[];
  readonly action: string;
  readonly resourceType: string;
  readonly resourceId: string;
  /** `env/dagId`, for every resource but an environment. */
  readonly dag: string | undefined;
  readonly env: string;
}

export type ScopeTest = (facts: ScopeFacts) => boolean;

const GROUP = cedarType(ENTITY.group);
const ENV = cedarType(ENTITY.env);
const DAG = cedarType(ENTITY.dag);
const RESOURCE_TYPE = {
  env: ENV,
  dag: DAG,
  run: cedarType(ENTITY.run),
  approvalRequest: cedarType(ENTITY.approvalRequest),
} as const;

/** The scope facts of a well-formed request. */
export function scopeFacts(request: PolicyRequest): ScopeFacts {
  const { principal: p, resource: r } = request;
  const dag = r.kind === 'env' ? undefined : `${r.env}/${r.dagId}`;
  return {
    principalType: cedarType(p.kind === 'user' ? ENTITY.user : ENTITY.service),
    principalId: p.id,
    groups: p.groups,
    action: request.action,
    resourceType: RESOURCE_TYPE[r.kind],
    resourceId: r.kind === 'env' ? r.env : r.kind === 'dag' ? dag! : r.kind === 'run' ? r.runId : r.requestId,
    dag,
    env: r.env,
  };
}

/** Compiles a policy's scope into a test, once per load. */
export function compileScopeTest(policy: PolicyJson): ScopeTest {
  const principal = entityTest(policy.principal, (f) => f.principalType, principalIs, principalIn);
  const action = actionTest(policy.action);
  const resource = entityTest(policy.resource, (f) => f.resourceType, resourceIs, resourceIn);
  return (f) => principal(f) && action(f) && resource(f);
}

type Uid = { readonly type: string; readonly id: string };
const always: ScopeTest = () => true;

function entityTest(
  c: PrincipalConstraint | ResourceConstraint,
  typeOf: (f: ScopeFacts) => string,
  is: (uid: Uid) => ScopeTest,
  isIn: (uid: Uid) => ScopeTest,
): ScopeTest {
  switch (c.op) {
    case 'All':
      return always;
    case '==':
      return withUid('entity' in c ? c.entity : undefined, is);
    case 'in':
      return withUid('entity' in c ? c.entity : undefined, isIn);
    case 'is': {
      const type = c.entity_type;
      const within = c.in ? withUid('entity' in c.in ? c.in.entity : undefined, isIn) : always;
      return (f) => typeOf(f) === type && within(f);
    }
    default:
      return always;
  }
}

const principalIs =
  (u: Uid): ScopeTest =>
  (f) =>
    f.principalType === u.type && f.principalId === u.id;
function principalIn(u: Uid): ScopeTest {
  if (u.type === GROUP) return (f) => f.groups.includes(u.id);
  return principalIs(u);
}

const resourceIs =
  (u: Uid): ScopeTest =>
  (f) =>
    f.resourceType === u.type && f.resourceId === u.id;
function resourceIn(u: Uid): ScopeTest {
  if (u.type === ENV) return (f) => f.env === u.id;
  if (u.type === DAG) return (f) => f.dag === u.id;
  return resourceIs(u);
}

function actionTest(c: ActionConstraint): ScopeTest {
  switch (c.op) {
    case 'All':
      return always;
    case '==': {
      const u = 'entity' in c ? plain(c.entity) : undefined;
      return u?.type === 'Action' ? (f) => f.action === u.id : always;
    }
    case 'in': {
      const targets = ('entities' in c ? c.entities : 'entity' in c ? [c.entity] : []).map(plain);
      if (!targets.every((t) => t?.type === 'Action')) return always;
      const ids = targets.map((t) => t!.id);
      return (f) => ids.some((id) => actionIn(f.action, id));
    }
    default:
      return always;
  }
}

function withUid(uid: EntityUidJson | undefined, make: (u: Uid) => ScopeTest): ScopeTest {
  const u = uid ? plain(uid) : undefined;
  return u ? make(u) : always;
}

function plain(uid: EntityUidJson): Uid | undefined {
  const u = ('__entity' in uid ? uid.__entity : uid) as { type?: unknown; id?: unknown };
  return typeof u.type === 'string' && typeof u.id === 'string' ? { type: u.type, id: u.id } : undefined;
}
