/** Sensitive params and secrets enter the trail as keyed HMACs (`hmac:<hex>`), so a known value can be searched but never read. @module */
import { createHmac } from 'node:crypto';
import { canonicalJson } from '../lib/canonical-json.ts';

/**
 * `hmac:<hex>` of a value under the audit HMAC key. Strings are hashed as they are, other values
 * as their RFC 8785 text, so `audit query --param rows=42` finds the number 42.
 *
 * @example
 * hmacValue(key, 'hunter2') // 'hmac:5f1c…'
 */
export function hmacValue(key: Buffer, value: unknown): string {
  const text = typeof value === 'string' ? value : canonicalJson(value);
  return `hmac:${createHmac('sha256', key).update(text).digest('hex')}`;
}

/** The top-level params a DAG's JSON Schema marks `sensitive: true`. */
export function sensitiveParamNames(paramsSchema: Record<string, unknown> | undefined): Set<string> {
  const names = new Set<string>();
  const props = paramsSchema?.properties;
  if (!props || typeof props !== 'object') return names;
  for (const [name, prop] of Object.entries(props as Record<string, unknown>)) {
    if (prop && typeof prop === 'object' && (prop as { sensitive?: unknown }).sensitive === true) {
      names.add(name);
    }
  }
  return names;
}

/**
 * Params as the trail stores them: sensitive values replaced by their HMAC.
 *
 * @example
 * redactParams({ user: 'ana', password: 'x' }, dag.paramsJsonSchema, key) // { user: 'ana', password: 'hmac:…' }
 */
export function redactParams(
  params: Record<string, unknown>,
  paramsSchema: Record<string, unknown> | undefined,
  key: Buffer,
): Record<string, unknown> {
  const sensitive = sensitiveParamNames(paramsSchema);
  if (sensitive.size === 0) return params;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params))
    out[k] = sensitive.has(k) && v !== undefined ? hmacValue(key, v) : v;
  return out;
}
