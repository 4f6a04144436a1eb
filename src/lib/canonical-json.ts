/** RFC 8785 (JCS) canonical JSON: the same value always encodes to the same bytes. @module */
import canonicalizeModule from 'canonicalize';

// The package is CommonJS (`module.exports = fn`) but its types declare an ES default export.
const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

/** Canonical JSON text of a JSON value; `undefined` encodes as `null`. */
export function canonicalJson(value: unknown): string {
  return canonicalize(value) ?? 'null';
}
