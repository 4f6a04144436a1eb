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
import type { FieldUse, ScopeUsage } from './scope-usage.ts';

const USER = cedarType(ENTITY.user);
const SERVICE = cedarType(ENTITY.service);
const GROUP = cedarType(ENTITY.group);
const ENV = cedarType(ENTITY.env);
const DAG = cedarType(ENTITY.dag);
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const SOURCE_SET: ReadonlySet<string> = new Set(SOURCES);
/** `amr` values that mean a second factor (RFC 8176). */
const MFA_METHODS: ReadonlySet<string> = new Set(['mfa', 'otp', 'hwk', 'swk']);
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
  const dagEntity = dag
    ? attrs
      ? dag.entity
      : dag.slimEntity
    : resource.kind === 'env'
      ? undefined
      : goneDagEntity(resource.env, resource.dagId);
  const entities: EntityJson[] = [];
  // An entity with no attributes and no parents answers every scope test as its absence does; leaving
  // it out saves its conversion. Kept whenever a condition reads it, where the two could differ.
  if (!usage || usage.principalRead || principalEntity.parents.length) entities.push(principalEntity);
  const actionEntity = ACTION_ENTITIES.get(action);
  if (actionEntity && (!usage || usage.actionGroups)) entities.push(actionEntity);
  const resourceEntities: EntityJson[] = [];
  let resourceUid: EntityUidJson;
  switch (resource.kind) {
    case 'env':
      resourceUid = { type: ENV, id: resource.env };
      break;
    case 'dag':
      resourceUid = dagEntity!.uid;
      resourceEntities.push(dagEntity!);
      break;
    case 'run':
      resourceUid = { type: cedarType(ENTITY.run), id: resource.runId };
      resourceEntities.push(
        dagEntity!,
        dagChildEntity(
          resourceUid,
          resource,
          dagEntity!.uid,
          attrs,
          resource.state ? { state: resource.state } : {},
        ),
      );
      break;
    case 'approvalRequest':
      resourceUid = { type: cedarType(ENTITY.approvalRequest), id: resource.requestId };
      resourceEntities.push(dagEntity!, dagChildEntity(resourceUid, resource, dagEntity!.uid, attrs, {}));
      break;
    default: {
      const never: never = resource;
      throw new TypeError(`unknown resource kind ${JSON.stringify(never)}`);
    }
  }
  // Without attribute reads or ancestor tests, the resource's uid alone decides every scope test.
  if (!usage || usage.resourceAttrs || usage.resourceAncestors) entities.push(...resourceEntities);
  const used = usage?.context ?? 'all';
  const use = (field: string): FieldUse | undefined => (used === 'all' ? 'all' : used.get(field));
  const cedarContext: Record<string, CedarValueJson> = {};
  if (use('env')) cedarContext.env = resource.env;
  if (use('source')) cedarContext.source = context.source;
  if (use('now')) cedarContext.now = { __extn: { fn: 'datetime', arg: now.toISOString() } };
  const time = use('time');
  if (time) cedarContext.time = pick({ hour: now.getUTCHours(), weekday: WEEKDAYS[now.getUTCDay()]! }, time);
  const token = use('token');
  if (token) cedarContext.token = tokenFacts(principal, now, token);
  if (needsParams && dag) {
    // Checked even when no policy reads params: a malformed request is refused either way.
    const projected = projectParams(params, dag.paramsType, problems) as Record<string, CedarValueJson>;
    if (problems.length) return problems;
    const read = use('params');
    if (read) cedarContext.params = pick(projected, read);
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

function tokenFacts(p: Principal, now: Date, read: FieldUse): CedarValueJson {
  const t = p.token;
  if (!t) return pick({ present: false, mfa: false, amr: [], scopes: [] }, read);
  const wants = (attr: string) => read === 'all' || read.has(attr);
  const facts: Record<string, CedarValueJson> = {};
  if (wants('present')) facts.present = true;
  if (wants('mfa')) facts.mfa = t.amr.some((m) => MFA_METHODS.has(m));
  if (wants('amr')) facts.amr = [...t.amr];
  if (wants('scopes')) facts.scopes = [...t.scopes];
  if (t.authTime !== undefined) {
    if (wants('authTime')) facts.authTime = t.authTime;
    if (wants('authAgeSeconds'))
      facts.authAgeSeconds = Math.max(0, Math.floor(now.getTime() / 1000) - t.authTime);
  }
  return facts;
}

/** The attributes of `record` that policies read: each one left out is one value less to convert. */
function pick(record: Record<string, CedarValueJson>, read: FieldUse): Record<string, CedarValueJson> {
  if (read === 'all') return record;
  const out: Record<string, CedarValueJson> = {};
  for (const attr of read) if (Object.hasOwn(record, attr)) out[attr] = record[attr]!;
  return out;
}

/** A DAG that is no longer loaded: in its environment, with no attributes, since none are known. */
function goneDagEntity(env: string, dagId: string): EntityJson {
  return { uid: { type: DAG, id: `${env}/${dagId}` }, attrs: {}, parents: [{ type: ENV, id: env }] };
}

/** A run or approval request: a child of its DAG, with `dag` and `requestedBy` when policies read attributes. */
function dagChildEntity(
  uid: EntityUidJson,
  resource: { readonly env: string; readonly dagId: string; readonly requestedBy: string },
  dagUid: EntityUidJson,
  withAttrs: boolean,
  extra: Record<string, CedarValueJson>,
): EntityJson {
  return {
    uid,
    attrs: withAttrs
      ? {
          dag: { __entity: { type: DAG, id: `${resource.env}/${resource.dagId}` } },
          requestedBy: resource.requestedBy,
          ...extra,
        }
      : {},
    parents: [dagUid],
  };
}
