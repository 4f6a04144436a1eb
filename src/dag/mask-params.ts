/** Params for display: what callers, chat messages and webhooks see of a run's params. @module */

/** What a sensitive value shows as. */
export const MASK = '••••••';

/**
 * Values of top-level properties marked `sensitive: true` in the params JSON Schema are masked. The
 * run keeps the real values (its tasks need them); the audit trail keeps an HMAC.
 *
 * @example
 * maskParams({ rows: 10, apiKey: 'sk-…' }, dag.paramsJsonSchema); // { rows: 10, apiKey: '••••••' }
 */
export function maskParams(params: unknown, schema: unknown): Record<string, unknown> {
  const props = ((schema as { properties?: Record<string, { sensitive?: boolean }> })?.properties ??
    {}) as Record<string, { sensitive?: boolean }>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries((params ?? {}) as Record<string, unknown>))
    out[k] = props[k]?.sensitive === true ? MASK : v;
  return out;
}
