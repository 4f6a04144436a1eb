/**
 * Turns a `PolicyRequest` into Cedar's entities and context, cheaply: the `Dag` entity is built once per
 * load; per request only the principal, the run or approval request, and the context are new objects.
 * @module
 */
import type { CedarValueJson, EntityJson, EntityUidJson } from '@cedar-policy/cedar-wasm/nodejs';
import type { Principal } from '../identity/principal.ts';
import { ACTION_GROUPS, ACTIONS, cedarType, ENTITY, RUN_ACTIONS, SOURCES } from './cedar-names.ts';
import type { CompiledDag } from './compile-policies.ts';
import { projectParams } from './params-to-cedar-type.ts';
import type { PolicyRequest } from './policy-engine.ts';
import type { ScopeUsage } from './scope-usage.ts';

const USER = cedarType(ENTITY.user);
const SERVICE = cedarType(ENTITY.service);
const GROUP = cedarType(ENTITY.group);
const ENV = cedarType(ENTITY.env);
const DAG = cedarType(ENTITY.dag);
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const SOURCE_SET: ReadonlySet<string> = new Set(SOURCES);
/** `Action::"trigger"` in `Action::"operate"`, and so on: the action hierarchy as entities. */
const ACTION_ENTITIES: ReadonlyMap<string, EntityJson> = new Map(
  ACTIONS.map((a) => [
    a,
    {
      uid: { type: 'Action', id: a },
      attrs: {},
      parents: Object.entries(ACTION_GROUPS)
        .filter(([, members]) => (members as readonly string[]).includes(a))
        .map(([g]) => ({ type: 'Action', id: g })),
    },
  ]),
);

export interface CedarRequest {
  readonly principal: EntityUidJson;
  readonly action: EntityUidJson;
  readonly resource: EntityUidJson;
  readonly context: Record<string, CedarValueJson>;
  readonly entities: EntityJson[];
}

/**
 * Builds the Cedar request, or returns the reasons it cannot: a request with missing or invalid
 * context must become a deny that says so, never reach Cedar half-built.
 */
export function buildCedarRequest(
  request: PolicyRequest,
  dag: CompiledDag | undefined,
  usage?: ScopeUsage,
): CedarRequest | string[] {
  const problems: string[] = [];
  const { principal, action, resource, context } = request;
  if (!principal || (principal.kind !== 'user' && principal.kind !== 'service') || !principal.id) {
    problems.push('principal is missing or has no kind and id');
  }
  const now = context?.now;
  if (!(now instanceof Date) || Number.isNaN(now.getTime()))
    problems.push('context.now is missing or not a valid Date');
  if (!SOURCE_SET.has(context?.source)) {
    problems.push(`context.source ${JSON.stringify(context?.source)} is not one of ${SOURCES.join(', ')}`);
  }
  const needsParams = RUN_ACTIONS.has(action) && resource?.kind !== 'env';
  const params = context?.params;
  if (needsParams && (typeof params !== 'object' || params === null || Array.isArray(params))) {
    problems.push(`context.params is required for ${action}: pass the run's validated params`);
  }
  if (problems.length) return problems;

  const principalEntity = principalEntityOf(principal, usage?.groups);
  const attrs = !usage || usage.resourceAttrs;
  const dagEntity = attrs ? dag?.entity : dag?.slimEntity;
  const entities: EntityJson[] = [principalEntity];
  const actionEntity = ACTION_ENTITIES.get(action);
  if (actionEntity && (!usage || usage.actionGroups)) entities.push(actionEntity);
  let resourceUid: EntityUidJson;
  switch (resource.kind) {
    case 'env':
      resourceUid = { type: ENV, id: resource.env };
      break;
    case 'dag':
      resourceUid = dagEntity!.uid;
      entities.push(dagEntity!);
      break;
    case 'run':
      resourceUid = { type: cedarType(ENTITY.run), id: resource.runId };
      entities.push(dagEntity!, {
        uid: resourceUid,
        attrs: attrs
          ? {
              dag: { __entity: { type: DAG, id: `${resource.env}/${resource.dagId}` } },
              requestedBy: resource.requestedBy,
              ...(resource.state ? { state: resource.state } : {}),
            }
          : {},
        parents: [dag!.entity.uid],
      });
      break;
    case 'approvalRequest':
      resourceUid = { type: cedarType(ENTITY.approvalRequest), id: resource.requestId };
      entities.push(dagEntity!, {
        uid: resourceUid,
        attrs: attrs
          ? {
              dag: { __entity: { type: DAG, id: `${resource.env}/${resource.dagId}` } },
              requestedBy: resource.requestedBy,
            }
          : {},
        parents: [dag!.entity.uid],
      });
      break;
    default: {
      const never: never = resource;
      throw new TypeError(`unknown resource kind ${JSON.stringify(never)}`);
    }
  }
  const used = usage?.context ?? 'all';
  const wants = (field: string) => used === 'all' || used.has(field);
  const cedarContext: Record<string, CedarValueJson> = {};
  if (wants('env')) cedarContext.env = resource.env;
  if (wants('source')) cedarContext.source = context.source;
  if (wants('now')) cedarContext.now = { __extn: { fn: 'datetime', arg: now.toISOString() } };
  if (wants('time')) cedarContext.time = { hour: now.getUTCHours(), weekday: WEEKDAYS[now.getUTCDay()]! };
  if (wants('token')) cedarContext.token = tokenFacts(principal, now);
  if (needsParams && dag) {
    // Checked even when no policy reads params: a malformed request is refused either way.
    const projected = projectParams(params, dag.paramsType, problems) as CedarValueJson;
    if (problems.length) return problems;
    if (wants('params')) cedarContext.params = projected;
  }
  return {
    principal: principalEntity.uid,
    action: { type: 'Action', id: action },
    resource: resourceUid,
    context: cedarContext,
    entities,
  };
}

function principalEntityOf(p: Principal, named: ReadonlySet<string> | undefined): EntityJson {
  const parents: EntityUidJson[] = [];
  for (const g of p.groups) if (!named || named.has(g)) parents.push({ type: GROUP, id: g });
  return { uid: { type: p.kind === 'user' ? USER : SERVICE, id: p.id }, attrs: {}, parents };
}

function tokenFacts(p: Principal, now: Date): CedarValueJson {
  const t = p.token;
  if (!t) return { present: false, mfa: false, amr: [], scopes: [] };
  const amr = [...t.amr];
  const facts: Record<string, CedarValueJson> = {
    present: true,
    mfa: amr.includes('mfa') || amr.includes('otp') || amr.includes('hwk') || amr.includes('swk'),
    amr,
    scopes: [...t.scopes],
  };
  if (t.authTime !== undefined) {
    facts.authTime = t.authTime;
    facts.authAgeSeconds = Math.max(0, Math.floor(now.getTime() / 1000) - t.authTime);
  }
  return facts;
}
