import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AirclutchError, describeThrown, ERROR_CODES, type ErrorCode } from '../../src/lib/errors.ts';

describe('the error registry', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const codes = Object.keys(ERROR_CODES) as ErrorCode[];

  it('documents every code with its HTTP status, and nothing else', () => {
    for (const code of codes) {
      expect(doc, code).toContain(`| \`${code}\` | ${ERROR_CODES[code].status} |`);
    }
    const documented = [...doc.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual([...codes].sort());
  });

  it('maps each code to a client or server status', () => {
    for (const code of codes) expect(ERROR_CODES[code].status, code).toBeGreaterThanOrEqual(400);
  });

  it('turns an error into RFC 9457 problem details with its code and the request id', () => {
    const e = new AirclutchError('PARAMS_INVALID', 'rows: expected number', { details: { issues: [] } });
    expect(e.toProblem('req-1')).toEqual({
      type: 'https://airclutch.dev/errors/PARAMS_INVALID',
      title: 'Params do not match the DAG schema',
      status: 400,
      code: 'PARAMS_INVALID',
      detail: 'rows: expected number',
      instance: 'req-1',
      details: { issues: [] },
    });
  });

  it('describes thrown non-Error values instead of losing them', () => {
    expect(describeThrown('plain')).toBe('plain');
    expect(describeThrown({ a: 1 })).toBe('non-Error value thrown: {"a":1}');
    expect(describeThrown(undefined)).toBe('non-Error value thrown: undefined');
  });
});
