/**
 * The default `PolicyEngine`: Cedar, through preparsed per-DAG policy sets and schemas.
 *
 * Deny is the default and forbid overrides permit (Cedar's semantics). Two choices go beyond Cedar:
 * a request that cannot be built (missing context, unknown DAG, no policies loaded) is a deny with the
 * error (except on a run of a DAG no longer loaded: the environment's policies decide it, see
 * `scopeFor`), and a forbid policy that fails to evaluate turns an allow into a deny, since Cedar skips
 * erroring policies and a broken forbid must not open access.
 *
 * Cedar's answers are memoised on the exact Cedar input (the preparsed slice, principal, action,
 * resource, context and entities, serialised) within one policy generation: Cedar is deterministic on
 * its input, and the input holds everything a policy can read. A reload starts a new generation and
 * drops every memoised answer.
 * @module
 */

import { describeThrown } from '../lib/errors.ts';
import { approversOf } from './approvers-of.ts';
import { buildCedarRequest } from './build-cedar-request.ts';
import * as cedar from './cedar.ts';
import { explainDecision } from './explain-decision.ts';
import type { Approver, Decision, Explanation, PolicyEngine, PolicyRequest } from './policy-engine.ts';
import type { ActivePolicies, PolicyStore, PreparsedScope } from './policy-store.ts';
import type { ScopeUsage } from './scope-usage.ts';

/**
 * @example
 * const engine = new CedarPolicyEngine(store);
 * const d = engine.decide({ principal, action: 'trigger', resource: { kind: 'dag', env: 'prod', dagId: 'nightly_revenue' },
 *   context: { params, now: new Date(), source: 'api' } });
 * if (d.effect === 'deny') console.log(d.reasons.join('; '));
 */
export class CedarPolicyEngine implements PolicyEngine {
  readonly #store: PolicyStore;
  readonly #memoMax: number;
  /** Cedar's responses by exact input, for `#memoGeneration` only. */
  #memo = new Map<string, cedar.Response>();
  #memoGeneration = -1;
  #cedarCalls = 0;

  /** `memoSize`: most Cedar answers kept (0 turns memoisation off). */
  constructor(store: PolicyStore, options: { memoSize?: number } = {}) {
    this.#store = store;
    this.#memoMax = options.memoSize ?? 10_000;
  }

  /** How many requests reached Cedar (the others were answered from the memo or refused before). */
  get cedarCalls(): number {
    return this.#cedarCalls;
  }

  decide(request: PolicyRequest): Decision {
    const active = this.#store.current();
    const decidedAt = request.context?.now instanceof Date ? request.context.now.getTime() : Date.now();
    if (!active) return denyWith(['no policy set is loaded'], decidedAt, 0);
    const scope = scopeFor(active, request);
    if (typeof scope === 'string') return denyWith([scope], decidedAt, active.generation);
    const slice = scope.slicer.sliceFor(request);
    const built = buildCedarRequest(request, scope.dag, slice.usage);
    if (Array.isArray(built)) return denyWith(built, decidedAt, active.generation);
    if (this.#memoGeneration !== active.generation) {
      this.#memo = new Map();
      this.#memoGeneration = active.generation;
    }
    const key = this.#memoMax > 0 ? `${slice.setId}\n${JSON.stringify(built)}` : '';
    let response = key ? this.#memo.get(key) : undefined;
    if (!response) {
      let answer: cedar.AuthorizationAnswer;
      this.#cedarCalls++;
      try {
        answer = cedar.statefulIsAuthorized({
          ...built,
          // No schema here: Cedar's request validation doubled the cost of a decision. Policies are
          // validated against the schema at load, and buildCedarRequest checks the context it builds.
          preparsedPolicySetId: slice.setId,
        });
      } catch (e) {
        return denyWith([`Cedar failed: ${describeThrown(e)}`], decidedAt, active.generation);
      }
      if (answer.type === 'failure') {
        const errors = answer.errors.map((e) => `${e.message}${e.help ? ` (hint: ${e.help})` : ''}`);
        return denyWith(errors, decidedAt, active.generation);
      }
      response = answer.response;
      if (key) {
        // Oldest first out: a bounded memo, whatever the traffic.
        if (this.#memo.size >= this.#memoMax) this.#memo.delete(this.#memo.keys().next().value!);
        this.#memo.set(key, response);
      }
    }
    const decision = toDecision(active, request, response, decidedAt, slice.policyIds);
    const r = request.resource;
    if (decision.effect !== 'deny' || r.kind !== 'run' || scope.dag) return decision;
    const dag = `${r.env}/${r.dagId}`;
    const gone = `DAG ${dag} is no longer loaded, so policies see Dag::"${dag}" without attributes (owner, tags)`;
    return { ...decision, reasons: [...decision.reasons, gone] };
  }

  reads(request: PolicyRequest): ScopeUsage | undefined {
    const active = this.#store.current();
    const scope = active && scopeFor(active, request);
    return scope && typeof scope !== 'string' ? scope.slicer.sliceFor(request).usage : undefined;
  }

  approvers(request: PolicyRequest): Approver[] {
    return approversOf(this.#store.current(), request, (r) => this.decide(r));
  }

  explain(request: PolicyRequest): Explanation {
    const decision = this.decide(request);
    return explainDecision(this.#store.current(), request, decision);
  }
}

/** The preparsed scope a request is decided in, or why there is none. */
export function scopeFor(active: ActivePolicies, request: PolicyRequest): PreparsedScope | string {
  const r = request.resource;
  if (!r || typeof r.env !== 'string') return 'resource is missing or names no environment';
  const key = r.kind === 'env' ? r.env : `${r.env}/${r.dagId}`;
  const scope = active.scopes.get(key);
  if (scope) return scope;
  const envScope = active.scopes.get(r.env);
  // A run outlives its DAG: once the DAG is gone (deleted, renamed, broken), the environment's shared
  // policies decide on its runs, seeing `Dag::"env/id"` without attributes. Anything that reads them
  // errors, and an erroring permit never allows.
  if (envScope && r.kind === 'run') return envScope;
  return envScope
    ? `DAG ${key} has no policies loaded: it is unknown in environment ${r.env}`
    : `environment ${r.env} is not configured`;
}

function toDecision(
  active: ActivePolicies,
  request: PolicyRequest,
  response: cedar.Response,
  decidedAt: number,
  order: readonly string[],
): Decision {
  // Cedar reports a set; list it in the scope's order (shared policies, then the DAG's) so the same
  // request always names its policies the same way, whatever slice decided it.
  const policies = [...response.diagnostics.reason].sort((a, b) => order.indexOf(a) - order.indexOf(b));
  const errors = response.diagnostics.errors.map((e) => `${e.policyId}: ${e.error.message}`);
  const brokenForbids = response.diagnostics.errors
    .map((e) => e.policyId)
    .filter((id) => active.policies.get(id)?.effect === 'forbid');
  if (response.decision === 'allow' && brokenForbids.length) {
    return {
      effect: 'deny',
      policies: brokenForbids,
      errors,
      reasons: brokenForbids.map((id) => `forbid policy ${id} failed to evaluate, so the request is denied`),
      decidedAt,
      generation: active.generation,
    };
  }
  const reasons = policies.map((id) => {
    const p = active.policies.get(id);
    return p?.annotations.reason ?? `${p?.effect ?? 'policy'} ${id} applies`;
  });
  if (response.decision === 'deny' && policies.length === 0) {
    reasons.push(`no policy permits ${request.action} on this ${request.resource.kind} (deny by default)`);
  }
  return { effect: response.decision, policies, errors, reasons, decidedAt, generation: active.generation };
}

function denyWith(errors: string[], decidedAt: number, generation: number): Decision {
  return {
    effect: 'deny',
    policies: [],
    errors,
    reasons: errors.map((e) => `denied: ${e}`),
    decidedAt,
    generation,
  };
}
