/** RFC 8785 (JCS) canonical JSON, through the `canonicalize` package, with a fast path for flat values. @module */
import canonicalizeModule from 'canonicalize';

// The package is CommonJS (`module.exports = serialize`) while its types declare an ES default
// export; under NodeNext the default import is the function itself at run time.
const serialize = ((canonicalizeModule as { default?: unknown }).default ?? canonicalizeModule) as (
  input: unknown,
) => string | undefined;

/**
 * The RFC 8785 text of a JSON value.
 *
 * @example
 * canonicalJson({ b: 1, a: [true] }) // '{"a":[true],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  const text = flatJson(value) ?? serialize(value);
  if (text === undefined) throw new TypeError('canonicalJson() needs a JSON value, not undefined');
  return text;
}

/**
 * The audit trail's common values are flat: an object whose values are strings, finite numbers,
 * booleans or null (a task transition's details), or an array of strings (a principal's groups).
 * For those, RFC 8785 is "keys sorted by UTF-16 code units, each value as `JSON.stringify` writes
 * it", and writing that directly allocates a fraction of the package's generic walk. Anything else
 * returns undefined and goes the generic way. A property test checks both against the package.
 */
function flatJson(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (const v of value) if (typeof v !== 'string') return undefined;
    return JSON.stringify(value);
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return undefined;
  // Objects built with their keys in order (the engine's details) skip the sort, which allocated
  // more than the text it orders: a tenth of everything a 10,000-task fan-out allocated.
  const keys = Object.keys(value);
  if (!inOrder(keys)) keys.sort();
  let out = '{';
  for (const k of keys) {
    const v = (value as Record<string, unknown>)[k];
    if (v === undefined) continue;
    if (
      v !== null &&
      typeof v !== 'string' &&
      typeof v !== 'boolean' &&
      !(typeof v === 'number' && Number.isFinite(v))
    )
      return undefined;
    out += `${out.length > 1 ? ',' : ''}${JSON.stringify(k)}:${JSON.stringify(v)}`;
  }
  return `${out}}`;
}

/** Keys already sorted as `sort()` would sort them (by UTF-16 code units). */
function inOrder(keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! > keys[i]!) return false;
  return true;
}
