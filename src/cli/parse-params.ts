/** Turns `--param k=v` flags and a `--params-file` into a params object, typed by the DAG's JSON Schema. @module */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { AirclutchError } from '../lib/errors.ts';

/**
 * A value is kept as a string when the schema says the param is a string; otherwise it is read as
 * JSON (`rows=5` → 5, `dryRun=true` → true), falling back to the string.
 * @example
 * parseParamFlags(['rows=5', 'date=2026-11-01'], schema, undefined); // { rows: 5, date: '2026-11-01' }
 */
export function parseParamFlags(
  flags: readonly string[],
  jsonSchema: Record<string, unknown>,
  paramsFile: string | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = paramsFile ? readParamsFile(paramsFile) : {};
  const props = (jsonSchema.properties ?? {}) as Record<string, { type?: unknown }>;
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq <= 0) {
      throw new AirclutchError('PARAMS_INVALID', `--param ${flag} is not of the form key=value`);
    }
    const key = flag.slice(0, eq);
    const raw = flag.slice(eq + 1);
    out[key] = props[key]?.type === 'string' ? raw : parseLoose(raw);
  }
  return out;
}

function parseLoose(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function readParamsFile(file: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = parseYaml(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new AirclutchError('PARAMS_INVALID', `could not read params file ${file}: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AirclutchError('PARAMS_INVALID', `params file ${file} must hold an object (JSON or YAML)`);
  }
  return value as Record<string, unknown>;
}
