/**
 * The active policy set, and its atomic reload. `load()` compiles everything, preparses one Cedar
 * policy set per (environment, DAG) holding only the policies that can apply to that DAG (the
 * environment's shared ones and the DAG's own), then swaps them in at once. If anything is broken,
 * nothing changes: the previous set stays active and the result says why.
 * @module
 */

import { AirclutchError } from '../lib/errors.ts';
import * as cedar from './cedar.ts';
import { type CompiledDag, type CompiledPolicies, compilePolicies } from './compile-policies.ts';
import { PolicySlicer } from './policy-slicer.ts';
import {
  describeProblems,
  type LoadedPolicy,
  type PolicyProblem,
  type PolicySources,
} from './policy-sources.ts';
import { type ScopeUsage, scopeUsage } from './scope-usage.ts';

/** A preparsed Cedar policy set and schema for one scope: one DAG, or an environment's own resources. */
export interface PreparsedScope {
  readonly setId: string;
  readonly schemaId: string;
  readonly policyIds: readonly string[];
  readonly dag?: CompiledDag | undefined;
  /** What these policies read, so requests carry nothing more. */
  readonly usage: ScopeUsage;
  /** Narrows the set to the policies whose scope can match a request. */
  readonly slicer: PolicySlicer;
}

/** What is active: an immutable snapshot, replaced whole by a successful load. */
export interface ActivePolicies {
  readonly generation: number;
  readonly loadedAt: number;
  readonly policies: ReadonlyMap<string, LoadedPolicy>;
  /** Key `env` for environment-level requests, `env/dagId` for a DAG's. */
  readonly scopes: ReadonlyMap<string, PreparsedScope>;
  readonly compiled: CompiledPolicies;
}

export type LoadResult =
  | { readonly ok: true; readonly generation: number; readonly policyCount: number; readonly notes: string[] }
  | {
      readonly ok: false;
      /** The generation still active (0: none ever loaded, every request is denied). */
      readonly generation: number;
      readonly problems: readonly PolicyProblem[];
      /** `POLICY_INVALID`, listing every problem with file, line and Cedar's hint. */
      readonly error: AirclutchError;
    };

/** Anything that yields sources: fixed ones, or a function re-reading DAGs on each reload. */
export type PolicySourceProvider = PolicySources | (() => PolicySources | Promise<PolicySources>);

let storeCount = 0;

/** Loads and holds the active policies. */
export interface PolicyStore {
  load(): Promise<LoadResult>;
  /** The active snapshot, or undefined before the first successful load. */
  current(): ActivePolicies | undefined;
}

/**
 * The default `PolicyStore`.
 *
 * @example
 * const store = new CedarPolicyStore({ rootDir, dags: [{ env: 'prod', dag: nightly }], policyDirs: { prod: ['policies'] } });
 * const result = await store.load();
 * if (!result.ok) throw result.error;
 */
export class CedarPolicyStore implements PolicyStore {
  readonly #provider: PolicySourceProvider;
  readonly #prefix = `airclutch${++storeCount}`;
  #active: ActivePolicies | undefined;
  #generation = 0;
  #problems: readonly PolicyProblem[] = [];

  constructor(sources: PolicySourceProvider) {
    this.#provider = sources;
  }

  current(): ActivePolicies | undefined {
    return this.#active;
  }

  /** The problems of the last load (the active set stays the previous one); empty when it loaded. */
  problems(): readonly PolicyProblem[] {
    return this.#problems;
  }

  async load(): Promise<LoadResult> {
    const result = await this.#load();
    this.#problems = result.ok ? [] : result.problems;
    return result;
  }

  async #load(): Promise<LoadResult> {
    const active = this.#active?.generation ?? 0;
    let sources: PolicySources;
    try {
      sources = typeof this.#provider === 'function' ? await this.#provider() : this.#provider;
    } catch (e) {
      return failed(active, [{ file: '(sources)', line: 1, column: 1, message: (e as Error).message }]);
    }
    const result = await compilePolicies(sources);
    if (!result.ok) return failed(active, result.problems);
    const generation = this.#generation + 1;
    const scopes = this.#preparse(generation, result.compiled);
    if (!(scopes instanceof Map)) return failed(active, scopes);
    this.#generation = generation;
    this.#active = {
      generation,
      loadedAt: Date.now(),
      policies: result.compiled.policies,
      scopes,
      compiled: result.compiled,
    };
    const notes = [...result.compiled.envs.values()].flatMap((e) =>
      [...e.dags.values()].flatMap((d) => d.notes.map((n) => `${e.env}/${d.dagId}: ${n}`)),
    );
    return { ok: true, generation, policyCount: result.compiled.policies.size, notes };
  }

  /**
   * Preparses into the slot the active generation does not use, so a failure halfway leaves the active
   * sets untouched, and a reload reuses the older slot's ids instead of growing Cedar's cache forever.
   */
  #preparse(generation: number, compiled: CompiledPolicies): Map<string, PreparsedScope> | PolicyProblem[] {
    const slot = `${this.#prefix}.${generation % 2}`;
    const scopes = new Map<string, PreparsedScope>();
    const problems: PolicyProblem[] = [];
    const texts = (ids: readonly string[]) =>
      Object.fromEntries(ids.map((id) => [id, compiled.policies.get(id)!.text]));
    // Preparsing a schema costs tens of ms; DAGs deployed to several environments share one.
    const schemaIds = new Map<string, string>();
    const report = (key: string, answer: cedar.CheckParseAnswer) => {
      if (answer.type === 'failure') {
        for (const e of answer.errors) problems.push({ file: key, line: 1, column: 1, message: e.message });
      }
    };
    const add = (key: string, policyIds: readonly string[], schema: object, dag?: CompiledDag) => {
      const setId = `${slot}:${key}`;
      const schemaText = JSON.stringify(schema);
      let schemaId = schemaIds.get(schemaText);
      if (!schemaId) {
        schemaId = `${slot}:schema${schemaIds.size}`;
        schemaIds.set(schemaText, schemaId);
        report(key, cedar.preparseSchema(schemaId, schema as cedar.Schema));
      }
      report(key, cedar.preparsePolicySet(setId, { staticPolicies: texts(policyIds) }));
      const policies = policyIds.map((id) => compiled.policies.get(id)!);
      const usage = scopeUsage(policies.map((p) => p.json));
      const slicer = new PolicySlicer({ setId, policyIds, usage }, policies);
      scopes.set(key, { setId, schemaId, policyIds, dag, usage, slicer });
    };
    for (const env of compiled.envs.values()) {
      add(env.env, env.policyIds, compiled.genericSchema);
      for (const dag of env.dags.values()) add(`${env.env}/${dag.dagId}`, dag.policyIds, dag.schema, dag);
    }
    return problems.length ? problems : scopes;
  }
}

function failed(generation: number, problems: readonly PolicyProblem[]): LoadResult {
  const { count, list } = describeProblems(problems);
  const kept = generation
    ? `generation ${generation} stays active`
    : 'no policies are active, so every request is denied';
  const error = new AirclutchError(
    'POLICY_INVALID',
    `the policy set was not loaded (${count}; ${kept}); fix:\n${list}`,
    { details: { problems } },
  );
  return { ok: false, generation, problems, error };
}
