/**
 * What the policy loader reads: DAGs per environment (their `.cedar` files sit beside them) and the
 * shared policy folders per environment. The DAG loader hands over `{ env, dag }` pairs.
 * @module
 */
import { fileURLToPath } from 'node:url';
import type { PolicyJson } from '@cedar-policy/cedar-wasm/nodejs';

/** The part of a DAG the policy layer reads; `Dag` from `src/dag/dag.ts` satisfies it. */
export interface DagLike {
  readonly id: string;
  readonly paramsJsonSchema: Record<string, unknown>;
  readonly options: {
    readonly owner?: string | undefined;
    readonly owners?: readonly string[] | undefined;
    readonly tags?: readonly string[] | undefined;
  };
  /** `file:line:column` of the `dag()` call; used to find the `.cedar` file when `file` is not given. */
  readonly definedAt?: string | undefined;
}

/** One DAG in one environment. */
export interface PolicyDag {
  readonly env: string;
  readonly dag: DagLike;
  /** The DAG's `.ts` file; its policies are the `.cedar` file with the same base name beside it. */
  readonly file?: string | undefined;
}

export interface PolicySources {
  /** Policy ids and messages name files relative to this folder (the config's folder). */
  readonly rootDir: string;
  readonly dags: readonly PolicyDag[];
  /** Shared policy folders per environment (`environments.<env>.policies`), relative to `rootDir`. */
  readonly policyDirs: Readonly<Record<string, readonly string[]>>;
}

/** One loaded policy. */
export interface LoadedPolicy {
  /** `file:line`, the file relative to `rootDir`. */
  readonly id: string;
  readonly file: string;
  readonly line: number;
  readonly effect: 'permit' | 'forbid';
  readonly text: string;
  readonly annotations: Readonly<Record<string, string>>;
  readonly json: PolicyJson;
}

/** Why a load failed, pointing into a file. */
export interface PolicyProblem {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
  readonly help?: string | undefined;
  readonly policyId?: string | undefined;
}

/** `dags/x.cedar:3:14: attribute … not found (hint: did you mean \`rows\`?)`. */
export function formatProblem(p: PolicyProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.message}${p.help ? ` (hint: ${p.help})` : ''}`;
}

/** `1 problem` or `3 problems`, and the list to fix, one `- file:line:col: message` per line. */
export function describeProblems(problems: readonly PolicyProblem[]): { count: string; list: string } {
  const n = problems.length;
  return {
    count: `${n} problem${n === 1 ? '' : 's'}`,
    list: problems.map((p) => `- ${formatProblem(p)}`).join('\n'),
  };
}

/** The `.cedar` file beside a DAG's `.ts` file, or undefined when the DAG's file is unknown. */
export function dagPolicyFile(source: PolicyDag): string | undefined {
  const at = source.dag.definedAt?.replace(/:\d+:\d+$/, '');
  const file = source.file ?? (at?.startsWith('file:') ? fileURLToPath(at) : at);
  return file?.replace(/\.[cm]?[jt]sx?$/, '.cedar');
}
