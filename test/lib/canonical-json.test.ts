import canonicalizeModule from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/lib/canonical-json.ts';

// The package itself, not through canonicalJson: the reference the fast path must equal.
const canonicalize = ((canonicalizeModule as { default?: unknown }).default ?? canonicalizeModule) as (
  v: unknown,
) => string;

const text = fc.string({ unit: 'binary' });
const flatValue = fc.oneof(
  text,
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
);

describe('canonicalJson', () => {
  it('writes flat objects (any keys, string, number, boolean and null values) exactly as the canonicalize package does', () => {
    fc.assert(
      fc.property(fc.dictionary(text, flatValue), (obj) => {
        expect(canonicalJson(obj)).toBe(canonicalize(obj));
      }),
      { numRuns: 1000 },
    );
  });

  it('writes arrays of strings and any other JSON value exactly as the canonicalize package does', () => {
    fc.assert(
      fc.property(fc.oneof(fc.array(text), fc.jsonValue(), fc.dictionary(text, fc.jsonValue())), (value) => {
        expect(canonicalJson(value)).toBe(canonicalize(value));
      }),
      { numRuns: 1000 },
    );
  });

  it('sorts keys by UTF-16 code units, so an astral character sorts before U+FFFF as RFC 8785 requires', () => {
    expect(canonicalJson({ '\uffff': 1, '\u{1f600}': 2, b: -0, a: 1e21 })).toBe(
      '{"a":1e+21,"b":0,"😀":2,"\uffff":1}',
    );
  });

  it('refuses undefined at the top, as a JSON value it is not', () => {
    expect(() => canonicalJson(undefined)).toThrow(TypeError);
  });
});
