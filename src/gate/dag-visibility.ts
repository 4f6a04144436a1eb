/**
 * Who may learn that a DAG exists. A caller who may not `view` a DAG (and may not act on it either)
 * gets exactly the `DAG_NOT_FOUND` it would get for a DAG that does not exist, and near matches come
 * only from the DAGs it may view: unknown-DAG answers, params errors and trigger refusals cannot be
 * used to map the catalogue.
 * @module
 */
import { actorOf } from '../audit/actor-of.ts';
import type { SourcedDag } from '../engine/engine-types.ts';
import { AirclutchError, isAirclutchError } from '../lib/errors.ts';
import { didYouMean, nearMatches } from '../lib/near-matches.ts';
import { decideTrigger } from '../policy/decide-trigger.ts';
import type { PolicyRequest } from '../policy/policy-engine.ts';
import type { Gate } from './gate.ts';
import type { GateContext } from './gate-types.ts';

/** What a caller asks to do with a DAG: an allowed trigger or break-glass reveals the DAG anyway. */
export type DagAction = 'view' | 'trigger' | 'breakGlass';

function dagRequest(
  gate: Gate,
  ctx: GateContext,
  env: string,
  dagId: string,
  params?: Record<string, unknown>,
): Omit<PolicyRequest, 'action'> {
  return {
    principal: ctx.principal,
    resource: { kind: 'dag', env, dagId },
    context: { params, now: new Date(gate.now()), source: ctx.source },
  };
}

/** Whether Cedar lets the caller `view` the DAG `env/dagId`. */
export function mayView(gate: Gate, ctx: GateContext, env: string, dagId: string): boolean {
  return gate.policy.decide({ ...dagRequest(gate, ctx, env, dagId), action: 'view' }).effect === 'allow';
}

/**
 * Whether the caller may learn that `found` exists: it may view it, or policy lets it do `action`
 * (decided with the DAG's default params), which would reveal the DAG anyway. Services such as the
 * scheduler are usually allowed to trigger without being allowed to view.
 */
export async function mayReveal(
  gate: Gate,
  ctx: GateContext,
  action: DagAction,
  found: SourcedDag,
): Promise<boolean> {
  if (mayView(gate, ctx, found.env, found.dag.id)) return true;
  if (action === 'view') return false;
  const params = (await found.dag.parseParams({}).catch(() => ({}))) as Record<string, unknown>;
  const request = dagRequest(gate, ctx, found.env, found.dag.id, params);
  if (action === 'breakGlass') return gate.policy.decide({ ...request, action }).effect === 'allow';
  return decideTrigger(gate.policy, request).outcome !== 'deny';
}

/**
 * The `DAG_NOT_FOUND` this caller gets for `env/dagId`, whether the DAG is missing or hidden from it:
 * the same message either way, naming near matches (or the DAGs) only among those it may view.
 *
 * @example
 * if (!found || !mayView(gate, ctx, env, dagId)) throw dagNotFound(gate, ctx, env, dagId);
 */
export function dagNotFound(gate: Gate, ctx: GateContext, env: string, dagId: string): AirclutchError {
  if (!gate.config.environments[env] && gate.dags.list(env).length === 0) {
    const envs = Object.keys(gate.config.environments);
    return new AirclutchError(
      'DAG_NOT_FOUND',
      `environment ${env} is not configured; environments: ${envs.join(', ') || '(none)'}`,
      { details: { env, dagId, suggestions: [] } },
    );
  }
  const visible = gate.dags
    .list(env)
    .map((d) => d.dag.id)
    .filter((id) => mayView(gate, ctx, env, id))
    .sort();
  const suggestions = nearMatches(dagId, visible);
  const hint =
    didYouMean(suggestions) ||
    (visible.length
      ? `; DAGs you may view: ${visible.slice(0, 10).join(', ')}${visible.length > 10 ? ', …' : ''}`
      : '; you may view no DAG in this environment');
  return new AirclutchError('DAG_NOT_FOUND', `DAG ${dagId} not found in environment ${env}${hint}`, {
    details: { env, dagId, suggestions },
  });
}

/**
 * The DAG, when the caller may learn that it exists (see `mayReveal`). Otherwise the refusal is
 * recorded and the caller gets `dagNotFound`, the same as for a DAG that does not exist.
 *
 * @example
 * const { dag } = await revealDag(gate, ctx, 'trigger', 'prod', 'nightly_revenue');
 */
export async function revealDag(
  gate: Gate,
  ctx: GateContext,
  action: DagAction,
  env: string,
  dagId: string,
  /** The action the refusal record names, when it is not `action` (an explain, for example). */
  recordAs: string = action,
): Promise<SourcedDag> {
  const found = gate.dags.find(env, dagId);
  if (found && (await mayReveal(gate, ctx, action, found))) return found;
  const answer = dagNotFound(gate, ctx, env, dagId);
  await gate.recordRefusal(refusalOf(ctx, recordAs, env, dagId, answer, found !== undefined));
  throw answer;
}

/**
 * What a refused DAG request records: the answer the caller got, and whether the DAG exists but was
 * hidden from it (auditors see what the caller could not).
 */
export function refusalOf(
  ctx: GateContext,
  action: string,
  env: string,
  dagId: string,
  answer: unknown,
  hidden: boolean,
) {
  const e = isAirclutchError(answer) ? answer : undefined;
  return {
    action,
    actor: actorOf(ctx.principal),
    resource: { env, dagId },
    source: ctx.source,
    requestId: ctx.requestId,
    outcome: 'refused',
    details: { code: e?.code, message: e?.message, ...(hidden ? { hiddenFromCaller: true } : {}) },
  };
}
