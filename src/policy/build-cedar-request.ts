/**
 * Turns a `PolicyRequest` into Cedar's entities and context, cheaply: the `Dag` entity is built once per
 * load; per request only the principal, the run or approval request, and the context are new objects.
 * @module
 */
import type { CedarValueJson, EntityJson, EntityUidJson } from '@cedar-policy/cedar-wasm/nodejs';
import type { Principal } from '../identity/principal.ts';
import { cedarType, ENTITY, RUN_ACTIONS, SOURCES } from './cedar-names.ts';
import type { CompiledDag } from './compile-policies.ts';
import { projectParams } from './params-to-cedar-type.ts';
import type { PolicyRequest } from './policy-engine.ts';

const USER = cedarType(ENTITY.user);
const SERVICE = cedarType(ENTITY.service);
const GROUP = cedarType(ENTITY.group);
const ENV = cedarType(ENTITY.env);
const DAG = cedarType(ENTITY.dag);
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const SOURCE_SET: ReadonlySet<string> = new Set(SOURCES);

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

  const principalEntity = principalEntityOf(principal);
  const entities: EntityJson[] = [principalEntity];
  let resourceUid: EntityUidJson;
  switch (resource.kind) {
    case 'env':
      resourceUid = { type: ENV, id: resource.env };
      break;
    case 'dag':
      resourceUid = dag!.entity.uid;
      entities.push(dag!.entity);
      break;
    case 'run':
      resourceUid = { type: cedarType(ENTITY.run), id: resource.runId };
      entities.push(dag!.entity, {
        uid: resourceUid,
        attrs: {
          dag: { __entity: { type: DAG, id: `${resource.env}/${resource.dagId}` } },
          requestedBy: resource.requestedBy,
          ...(resource.state ? { state: resource.state } : {}),
        },
        parents: [dag!.entity.uid],
      });
      break;
    case 'approvalRequest':
      resourceUid = { type: cedarType(ENTITY.approvalRequest), id: resource.requestId };
      entities.push(dag!.entity, {
        uid: resourceUid,
        attrs: {
          dag: { __entity: { type: DAG, id: `${resource.env}/${resource.dagId}` } },
          requestedBy: resource.requestedBy,
        },
        parents: [dag!.entity.uid],
      });
      break;
    default: {
      const never: never = resource;
      throw new TypeError(`unknown resource kind ${JSON.stringify(never)}`);
    }
  }
  const cedarContext: Record<string, CedarValueJson> = {
    env: resource.env,
    source: context.source,
    now: { __extn: { fn: 'datetime', arg: now.toISOString() } },
    time: { hour: now.getUTCHours(), weekday: WEEKDAYS[now.getUTCDay()]! },
    token: tokenFacts(principal, now),
  };
  if (needsParams && dag) cedarContext.params = projectParams(params, dag.paramsType) as CedarValueJson;
  return {
    principal: principalEntity.uid,
    action: { type: 'Action', id: action },
    resource: resourceUid,
    context: cedarContext,
    entities,
  };
}

function principalEntityOf(p: Principal): EntityJson {
  const parents = new Array<EntityUidJson>(p.groups.length);
  for (let i = 0; i < p.groups.length; i++) parents[i] = { type: GROUP, id: p.groups[i]! };
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
