/** RFC 8785 (JCS) canonical JSON, through the `canonicalize` package. @module */
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
  const text = serialize(value);
  if (text === undefined) throw new TypeError('canonicalJson() needs a JSON value, not undefined');
  return text;
}
