/**
 * Per-request policy slices. Cedar evaluates every policy of the set it is given, at several
 * microseconds each through the wasm module, and a scope holds all of an environment's shared policies
 * plus its DAG's own. The slicer keeps, for each request, only the policies whose scope can match it
 * (`scopeCanMatch`: same principal groups, action and resource), preparses that slice once under its
 * own id, and reuses it for every request with the same candidates. Cedar still decides on the slice.
 *
 * A candidate whose scope test is exact (`CompiledScope.exact`) certainly matches every request of its
 * slice, so the slice hands it to Cedar without its scope (`principal, action, resource`), conditions
 * and annotations unchanged. Cedar then needs the entities only for what conditions read: each entity
 * that crosses into the wasm module costs ~20 µs, about as much as the rest of a small decision.
 * @module
 */

import type { PolicyJson } from '@cedar-policy/cedar-wasm/nodejs';
import * as cedar from './cedar.ts';
import type { PolicyRequest } from './policy-engine.ts';
import type { LoadedPolicy } from './policy-sources.ts';
import { type CompiledScope, compileScope, scopeFacts } from './scope-can-match.ts';
import { type ScopeUsage, scopeUsage } from './scope-usage.ts';

/** A preparsed policy set and what its policies read. */
export interface PolicySlice {
  readonly setId: string;
  readonly policyIds: readonly string[];
  readonly usage: ScopeUsage;
}

/**
 * Distinct slices kept per scope. Beyond it, requests use the whole scope's set: still correct, only
 * slower. Slice ids are reused from one generation's slot to the next, so Cedar's cache stays bounded.
 */
const DEFAULT_SLICE_LIMIT = 256;

/** Slices one scope's policies. */
export class PolicySlicer {
  readonly #whole: PolicySlice;
  readonly #policies: readonly LoadedPolicy[];
  readonly #scopes: readonly CompiledScope[];
  readonly #slices = new Map<string, PolicySlice>();
  readonly #limit: number;

  /** `whole` is the scope's full set, already preparsed; `policies` are its policies in order. */
  constructor(whole: PolicySlice, policies: readonly LoadedPolicy[], limit = DEFAULT_SLICE_LIMIT) {
    this.#whole = whole;
    this.#policies = policies;
    this.#scopes = policies.map((p) => compileScope(p.json));
    this.#limit = limit;
  }

  /** The slice for a well-formed request (see `buildCedarRequest`); the whole set for anything else. */
  sliceFor(request: PolicyRequest): PolicySlice {
    if (!wellFormed(request)) return this.#whole;
    const facts = scopeFacts(request);
    let key = '';
    for (let i = 0; i < this.#scopes.length; i++) if (this.#scopes[i]!.test(facts)) key += `${i},`;
    return this.#slices.get(key) ?? this.#make(key);
  }

  #make(key: string): PolicySlice {
    if (this.#slices.size >= this.#limit) return this.#whole;
    const picked = key
      .split(',')
      .filter(Boolean)
      .map((i) => ({ policy: this.#policies[Number(i)]!, exact: this.#scopes[Number(i)]!.exact }));
    const json = picked.map(({ policy, exact }) => (exact ? withoutScope(policy.json) : policy.json));
    const setId = `${this.#whole.setId}#${this.#slices.size}`;
    const answer = cedar.preparsePolicySet(setId, {
      staticPolicies: Object.fromEntries(
        picked.map(({ policy, exact }, i) => [policy.id, exact ? json[i]! : policy.text]),
      ),
    });
    // The same policies preparsed as part of the whole set, so this cannot fail; if it does, stay correct.
    if (answer.type === 'failure') return this.#whole;
    const slice = { setId, policyIds: picked.map(({ policy }) => policy.id), usage: scopeUsage(json) };
    this.#slices.set(key, slice);
    return slice;
  }
}

function withoutScope(policy: PolicyJson): PolicyJson {
  return { ...policy, principal: { op: 'All' }, action: { op: 'All' }, resource: { op: 'All' } };
}

function wellFormed(r: PolicyRequest): boolean {
  const p = r?.principal;
  const res = r?.resource;
  return (
    (p?.kind === 'user' || p?.kind === 'service') &&
    typeof p.id === 'string' &&
    Array.isArray(p.groups) &&
    typeof r.action === 'string' &&
    typeof res?.env === 'string' &&
    (res.kind === 'env' ||
      (typeof res.dagId === 'string' &&
        (res.kind === 'dag' ||
          (res.kind === 'run' && typeof res.runId === 'string') ||
          (res.kind === 'approvalRequest' && typeof res.requestId === 'string'))))
  );
}
