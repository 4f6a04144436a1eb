/**
 * JSON Schema (a DAG's `paramsJsonSchema`) → a Cedar record type for `context.params`, plus the
 * projection that turns validated params into exactly that record at request time.
 * @module
 */
import type { Type } from '@cedar-policy/cedar-wasm/nodejs';

/** A Cedar type limited to what params need, with the notes about what was left out. */
export interface ParamsCedarType {
  readonly type: Type<string> & { type: 'Record' };
  /** Params left out of the Cedar type, and why (for `policy validate` output). */
  readonly notes: readonly string[];
}

type JsonSchema = Record<string, unknown>;

/**
 * Converts a params JSON Schema into a Cedar record type. Strings, integers (`Long`), booleans,
 * arrays (`Set`) and nested objects map directly. A field is required when the schema requires it or
 * gives it a default, since policies see the validated params, defaults applied. Non-integer numbers,
 * unions and sensitive params are left out with a note: Cedar's `decimal` keeps 4 digits and would
 * silently round, and a sensitive value must not reach policies, explain output or the audit trail.
 *
 * @example
 * paramsToCedarType({ type: 'object', properties: { rows: { type: 'integer' } }, required: ['rows'] })
 * // → { type: { type: 'Record', attributes: { rows: { type: 'Long', required: true } } }, notes: [] }
 */
export function paramsToCedarType(schema: JsonSchema): ParamsCedarType {
  const notes: string[] = [];
  const type = objectType(schema, 'params', notes);
  return { type, notes };
}

function objectType(schema: JsonSchema, path: string, notes: string[]): Type<string> & { type: 'Record' } {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const attributes: Record<string, Type<string> & { required?: boolean }> = {};
  for (const [name, prop] of Object.entries(properties)) {
    const at = `${path}.${name}`;
    if (prop.sensitive === true) {
      notes.push(`${at} is sensitive: policies cannot read it`);
      continue;
    }
    const t = fieldType(prop, at, notes);
    if (t) attributes[name] = { ...t, required: required.has(name) || 'default' in prop };
  }
  return { type: 'Record', attributes };
}

function fieldType(prop: JsonSchema, path: string, notes: string[]): Type<string> | undefined {
  const type =
    prop.type ??
    (Array.isArray(prop.enum) && prop.enum.every((v) => typeof v === 'string') ? 'string' : undefined);
  switch (type) {
    case 'string':
      return { type: 'String' };
    case 'integer':
      return { type: 'Long' };
    case 'boolean':
      return { type: 'Boolean' };
    case 'array': {
      const item = prop.items as JsonSchema | undefined;
      const element = item ? fieldType(item, `${path}[]`, notes) : undefined;
      if (!element) return skip(path, 'its items have no Cedar type', notes);
      return { type: 'Set', element };
    }
    case 'object':
      return objectType(prop, path, notes);
    case 'number':
      return skip(path, 'it is a non-integer number (Cedar decimals keep 4 digits)', notes);
    default:
      return skip(path, `its JSON Schema type ${JSON.stringify(type ?? 'union')} has no Cedar type`, notes);
  }
}

function skip(path: string, why: string, notes: string[]): undefined {
  notes.push(`${path} is left out of the Cedar schema: ${why}`);
  return undefined;
}

/**
 * Copies validated params into the shape of the Cedar type, checking it on the way: only declared
 * fields are copied, so a key such as `__entity` in user input can never reach Cedar as an entity
 * reference, and a missing or mistyped field is reported. This replaces Cedar's own request validation,
 * which costs more than the decision itself.
 */
export function projectParams(
  value: unknown,
  cedarType: Type<string>,
  problems: string[],
  path = 'params',
): unknown {
  const type = cedarType as {
    type: string;
    attributes?: Record<string, Type<string> & { required?: boolean }>;
    element?: Type<string>;
  };
  switch (type.type) {
    case 'Record': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        problems.push(`context.${path} must be an object`);
        return value;
      }
      const out: Record<string, unknown> = {};
      const src = value as Record<string, unknown>;
      for (const name in type.attributes) {
        const attr = type.attributes[name]!;
        const v = src[name];
        if (v !== undefined && v !== null) out[name] = projectParams(v, attr, problems, `${path}.${name}`);
        else if (attr.required !== false) problems.push(`context.${path}.${name} is required`);
      }
      return out;
    }
    case 'Set':
      if (!Array.isArray(value)) problems.push(`context.${path} must be an array`);
      else return value.map((v, i) => projectParams(v, type.element!, problems, `${path}[${i}]`));
      return value;
    case 'Long':
      if (!Number.isSafeInteger(value)) problems.push(`context.${path} must be an integer`);
      return value;
    case 'String':
      if (typeof value !== 'string') problems.push(`context.${path} must be a string`);
      return value;
    case 'Boolean':
      if (typeof value !== 'boolean') problems.push(`context.${path} must be a boolean`);
      return value;
    default:
      return value;
  }
}
