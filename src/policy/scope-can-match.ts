/**
 * Whether a policy's scope (`principal`, `action`, `resource` constraints) can match a request, told
 * from the request alone. A compiled test answers false only when the scope certainly fails with the
 * entities `buildCedarRequest` passes: the principal's ancestors are exactly its groups, the action's
 * are its action groups, a DAG's is its environment, a run's or approval request's are its DAG and its
 * environment. A policy whose scope fails is neither satisfied nor erroring in Cedar (the scope is
 * checked before the conditions), so leaving it out of the set Cedar evaluates cannot change the
 * decision. Anything not fully understood here (template slots, other shapes) counts as a possible match.
 *
 * A scope made only of shapes understood here is `exact`: its test answers true only when Cedar's
 * scope check would pass too, so a slice may hand Cedar the policy without its scope (see
 * `PolicySlicer`), and the entities the scope needed need not cross into Cedar.
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

/** A scope's test, and whether its true answers are certain (see the module's note). */
export interface CompiledScope {
  readonly test: ScopeTest;
  readonly exact: boolean;
}

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
export function compileScope(policy: PolicyJson): CompiledScope {
  const principal = entityTest(policy.principal, (f) => f.principalType, principalIs, principalIn);
  const action = actionTest(policy.action);
  const resource = entityTest(policy.resource, (f) => f.resourceType, resourceIs, resourceIn);
  return {
    test: (f) => principal.test(f) && action.test(f) && resource.test(f),
    exact: principal.exact && action.exact && resource.exact,
  };
}

type Uid = { readonly type: string; readonly id: string };
const always: CompiledScope = { test: () => true, exact: true };
/** A shape not understood here: it may match, and Cedar must check it. */
const unknown: CompiledScope = { test: () => true, exact: false };
const exactly = (test: ScopeTest): CompiledScope => ({ test, exact: true });

function entityTest(
  c: PrincipalConstraint | ResourceConstraint,
  typeOf: (f: ScopeFacts) => string,
  is: (uid: Uid) => ScopeTest,
  isIn: (uid: Uid) => ScopeTest,
): CompiledScope {
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
      return { test: (f) => typeOf(f) === type && within.test(f), exact: within.exact };
    }
    default:
      return unknown;
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

function actionTest(c: ActionConstraint): CompiledScope {
  switch (c.op) {
    case 'All':
      return always;
    case '==': {
      const u = 'entity' in c ? plain(c.entity) : undefined;
      return u?.type === 'Action' ? exactly((f) => f.action === u.id) : unknown;
    }
    case 'in': {
      const targets = ('entities' in c ? c.entities : 'entity' in c ? [c.entity] : []).map(plain);
      if (!targets.every((t) => t?.type === 'Action')) return unknown;
      const ids = targets.map((t) => t!.id);
      return exactly((f) => ids.some((id) => actionIn(f.action, id)));
    }
    default:
      return unknown;
  }
}

function withUid(uid: EntityUidJson | undefined, make: (u: Uid) => ScopeTest): CompiledScope {
  const u = uid ? plain(uid) : undefined;
  return u ? exactly(make(u)) : unknown;
}

function plain(uid: EntityUidJson): Uid | undefined {
  const u = ('__entity' in uid ? uid.__entity : uid) as { type?: unknown; id?: unknown };
  return typeof u.type === 'string' && typeof u.id === 'string' ? { type: u.type, id: u.id } : undefined;
}
