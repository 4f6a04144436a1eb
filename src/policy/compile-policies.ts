/**
 * Reads, parses and validates every policy file into a compiled snapshot, or the list of problems.
 * Pure with respect to Cedar's preparsed cache: nothing here changes what is active.
 * @module
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import type { DetailedError, EntityJson, SchemaJson, Type } from '@cedar-policy/cedar-wasm/nodejs';
import * as cedar from './cedar.ts';
import { cedarType, ENTITY } from './cedar-names.ts';
import { buildCedarSchema } from './cedar-schema.ts';
import { paramsToCedarType } from './params-to-cedar-type.ts';
import {
  dagPolicyFile,
  formatProblem,
  type LoadedPolicy,
  type PolicyDag,
  type PolicyProblem,
  type PolicySources,
} from './policy-sources.ts';
import { charOffset, columnAt, lineAt, splitPolicyFile } from './split-policy-file.ts';

/** One DAG's policies and schema in one environment. */
export interface CompiledDag {
  readonly env: string;
  readonly dagId: string;
  /** Shared policies of the environment, then the DAG's own. */
  readonly policyIds: readonly string[];
  readonly schema: SchemaJson<string>;
  readonly paramsType: Type<string>;
  /** The `Dag` entity, built once per load and reused by every request. */
  readonly entity: EntityJson;
  /** The same without attributes, for policy sets that never read them. */
  readonly slimEntity: EntityJson;
  readonly notes: readonly string[];
}

export interface CompiledEnv {
  readonly env: string;
  readonly policyIds: readonly string[];
  readonly dags: ReadonlyMap<string, CompiledDag>;
}

export interface CompiledPolicies {
  readonly policies: ReadonlyMap<string, LoadedPolicy>;
  readonly envs: ReadonlyMap<string, CompiledEnv>;
  readonly genericSchema: SchemaJson<string>;
}

export type CompileResult =
  | { readonly ok: true; readonly compiled: CompiledPolicies }
  | { readonly ok: false; readonly problems: readonly PolicyProblem[] };

interface ParsedFile {
  readonly file: string;
  readonly policies: readonly LoadedPolicy[];
}

/** Compiles all sources. Every problem is collected, so one load reports them all. */
export async function compilePolicies(sources: PolicySources): Promise<CompileResult> {
  const problems: PolicyProblem[] = [];
  const rel = (p: string) => relative(sources.rootDir, resolve(sources.rootDir, p)) || p;
  const policies = new Map<string, LoadedPolicy>();
  const parsedCache = new Map<string, ParsedFile>();
  const parse = async (absFile: string): Promise<ParsedFile> => {
    let parsed = parsedCache.get(absFile);
    if (!parsed) {
      parsed = parseFile(rel(absFile), await readFile(absFile, 'utf8'), problems);
      parsedCache.set(absFile, parsed);
      for (const p of parsed.policies) policies.set(p.id, p);
    }
    return parsed;
  };
  const genericSchema = buildCedarSchema();
  const validated = new Set<string>();
  const envNames = new Set([...Object.keys(sources.policyDirs), ...sources.dags.map((d) => d.env)]);
  const envs = new Map<string, CompiledEnv>();
  for (const env of envNames) {
    const shared: LoadedPolicy[] = [];
    for (const dir of sources.policyDirs[env] ?? []) {
      for (const file of await cedarFiles(resolve(sources.rootDir, dir), rel(dir), problems)) {
        const parsed = await parse(file);
        if (!validated.has(parsed.file)) {
          validated.add(parsed.file);
          validateFile(
            parsed,
            genericSchema,
            problems,
            "shared policy files cannot read context.params: put this rule in the DAG's own .cedar file",
          );
        }
        shared.push(...parsed.policies);
      }
    }
    const dags = new Map<string, CompiledDag>();
    for (const source of sources.dags.filter((d) => d.env === env)) {
      if (dags.has(source.dag.id)) {
        problems.push(problemAt(source.dag.definedAt ?? env, `DAG ${source.dag.id} appears twice in ${env}`));
        continue;
      }
      dags.set(source.dag.id, await compileDag(source, shared, parse, problems, validated));
    }
    envs.set(env, { env, policyIds: shared.map((p) => p.id), dags });
  }
  if (problems.length) {
    const seen = new Set<string>();
    const unique = problems.filter((p) => !seen.has(formatProblem(p)) && seen.add(formatProblem(p)));
    return { ok: false, problems: unique };
  }
  return { ok: true, compiled: { policies, envs, genericSchema } };
}

async function compileDag(
  source: PolicyDag,
  shared: readonly LoadedPolicy[],
  parse: (absFile: string) => Promise<ParsedFile>,
  problems: PolicyProblem[],
  validated: Set<string>,
): Promise<CompiledDag> {
  const { dag, env } = source;
  const { type: paramsType, notes } = paramsToCedarType(dag.paramsJsonSchema);
  const schema = buildCedarSchema(paramsType);
  const local: LoadedPolicy[] = [];
  const file = dagPolicyFile(source);
  if (file && (await isFile(file))) {
    const parsed = await parse(file);
    // The same DAG in several environments has the same schema: validate its file once.
    const key = `${parsed.file}\0${dag.id}`;
    if (!validated.has(key)) {
      validated.add(key);
      validateFile(parsed, schema, problems);
    }
    local.push(...parsed.policies);
  }
  const entity: EntityJson = {
    uid: { type: cedarType(ENTITY.dag), id: `${env}/${dag.id}` },
    attrs: {
      id: dag.id,
      env,
      tags: [...(dag.options.tags ?? [])],
      owners: [...(dag.options.owners ?? (dag.options.owner ? [dag.options.owner] : []))],
      ...(dag.options.owner ? { owner: dag.options.owner } : {}),
    },
    parents: [{ type: cedarType(ENTITY.env), id: env }],
  };
  return {
    env,
    dagId: dag.id,
    policyIds: [...shared, ...local].map((p) => p.id),
    schema,
    paramsType,
    entity,
    slimEntity: { uid: entity.uid, attrs: {}, parents: entity.parents },
    notes,
  };
}

function parseFile(file: string, text: string, problems: PolicyProblem[]): ParsedFile {
  const check = cedar.checkParsePolicySet({ staticPolicies: text });
  if (check.type === 'failure') {
    for (const e of check.errors) problems.push(fromCedar(file, text, 0, text, e));
    return { file, policies: [] };
  }
  const policies: LoadedPolicy[] = [];
  for (const chunk of splitPolicyFile(text)) {
    const id = `${file}:${chunk.line}`;
    const json = cedar.policyToJson(chunk.text);
    if (json.type === 'failure') {
      for (const e of json.errors) problems.push(fromCedar(file, text, chunk.offset, chunk.text, e, id));
      continue;
    }
    policies.push({
      id,
      file,
      line: chunk.line,
      effect: json.json.effect,
      text: chunk.text,
      annotations: json.json.annotations ?? {},
      json: json.json,
    });
  }
  return { file, policies };
}

function validateFile(
  parsed: ParsedFile,
  schema: SchemaJson<string>,
  problems: PolicyProblem[],
  extraHelp?: string,
): void {
  if (parsed.policies.length === 0) return;
  const byId = new Map(parsed.policies.map((p) => [p.id, p]));
  const answer = cedar.validate({
    schema,
    policies: { staticPolicies: Object.fromEntries(parsed.policies.map((p) => [p.id, p.text])) },
    validationSettings: { mode: 'strict' },
  });
  if (answer.type === 'failure') {
    for (const e of answer.errors) problems.push(problemAt(parsed.file, e.message, e.help));
    return;
  }
  for (const { policyId, error } of answer.validationErrors) {
    const policy = byId.get(policyId);
    const withHelp =
      extraHelp && /`params/.test(error.message)
        ? { ...error, help: error.help ? `${error.help}; ${extraHelp}` : extraHelp }
        : error;
    if (!policy) {
      problems.push(problemAt(parsed.file, withHelp.message, withHelp.help));
      continue;
    }
    const fileText = policy.text;
    const p = fromCedar(parsed.file, fileText, 0, policy.text, withHelp, policyId);
    // Offsets are inside the policy; shift the line to where the policy starts in its file.
    problems.push({ ...p, line: p.line + policy.line - 1 });
  }
}

/** Maps a Cedar error (offsets into `chunkText`, which starts at `chunkOffset` of `fileText`). */
function fromCedar(
  file: string,
  fileText: string,
  chunkOffset: number,
  chunkText: string,
  e: DetailedError,
  policyId?: string,
): PolicyProblem {
  const loc = e.sourceLocations?.[0];
  const at = chunkOffset + (loc ? charOffset(chunkText, loc.start) : 0);
  const label = loc?.label ? `: ${loc.label}` : '';
  return {
    file,
    line: lineAt(fileText, at),
    column: columnAt(fileText, at),
    message: `${e.message}${label}`,
    help: e.help ?? undefined,
    policyId,
  };
}

function problemAt(file: string, message: string, help?: string | null): PolicyProblem {
  return { file, line: 1, column: 1, message, help: help ?? undefined };
}

async function cedarFiles(dir: string, relDir: string, problems: PolicyProblem[]): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true });
    return entries
      .filter((e) => e.endsWith('.cedar'))
      .sort()
      .map((e) => join(dir, e));
  } catch (e) {
    problems.push(problemAt(relDir, `policy folder cannot be read: ${(e as Error).message}`));
    return [];
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
