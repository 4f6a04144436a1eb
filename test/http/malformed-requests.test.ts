import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpWorld, startHttpWorld } from './http-world.ts';

let h: HttpWorld;
let eng: string;

beforeAll(async () => {
  h = await startHttpWorld({
    server: { rateLimit: { max: 100_000, windowMs: 60_000, tokenFailuresMax: 100_000 } },
  });
  eng = await h.token('eng@example.com');
});
afterAll(async () => {
  await h?.close();
});

const ROUTES: ReadonlyArray<[string, string]> = [
  ['GET', '/api/v1/whoami'],
  ['GET', '/api/v1/dags'],
  ['GET', '/api/v1/dags/{id}'],
  ['POST', '/api/v1/dags/{id}/runs'],
  ['GET', '/api/v1/runs'],
  ['GET', '/api/v1/runs/{id}'],
  ['GET', '/api/v1/runs/{id}/logs'],
  ['POST', '/api/v1/runs/{id}/cancel'],
  ['GET', '/api/v1/approvals'],
  ['POST', '/api/v1/approvals/{id}/approve'],
  ['POST', '/api/v1/approvals/{id}/deny'],
  ['POST', '/api/v1/authorize/explain'],
  ['GET', '/api/v1/audit'],
  ['GET', '/api/v1/audit/verify'],
  ['GET', '/api/v1/audit/export'],
  ['GET', '/api/v1/workers'],
  ['GET', '/healthz'],
  ['GET', '/readyz'],
  ['POST', '/slack/interactivity'],
];

const printable = fc.string({
  unit: fc.constantFrom(...' !"#$%&\'()*+,-./0123456789:;<=>?@AZaz[]^_`{|}~é'.split('')),
});
const pathId = fc.oneof(
  fc.constantFrom('revenue', 'chatty', 'nope', '..', '%2e%2e', 'a'.repeat(300), ' '),
  fc.string().map(encodeURIComponent),
);
const body = fc.oneof(
  fc.constant(undefined),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc
    .record({ params: fc.jsonValue(), note: fc.jsonValue(), env: fc.jsonValue() }, { requiredKeys: [] })
    .map((v) => JSON.stringify(v)),
  fc
    .record({
      params: fc.dictionary(fc.constantFrom('rows', 'dryRun', 'rowz', 'apiKey', 'pauseMs'), fc.jsonValue()),
    })
    .map((v) => JSON.stringify(v)),
  printable,
);
const query = fc.array(
  fc.tuple(
    fc.constantFrom('env', 'dag', 'state', 'limit', 'before', 'after', 'follow', 'format', 'since', 'x'),
    printable,
  ),
  { maxLength: 3 },
);
const contentType = fc.constantFrom(
  undefined,
  'application/json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=latin1',
  '',
);
const auth = fc.constantFrom<'valid' | 'none' | 'garbage' | 'basic'>('valid', 'none', 'garbage', 'basic');

describe('malformed requests', () => {
  it('never get a 5xx, always get problem+json, and only a 201 or 202 creates a run', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES),
        pathId,
        body,
        query,
        contentType,
        auth,
        async ([method, template], id, b, q, ct, a) => {
          const path = template.replace('{id}', id);
          const qs = q.length ? `?${q.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}` : '';
          const headers: Record<string, string> = {};
          if (ct) headers['content-type'] = ct;
          if (a === 'valid') headers.authorization = `Bearer ${eng}`;
          if (a === 'garbage') headers.authorization = 'Bearer x.y.z';
          if (a === 'basic') headers.authorization = 'Basic dXNlcjpwYXNz';
          const before = await h.runCount();
          const res = await fetch(`${h.base}${path}${qs}`, {
            method,
            headers,
            ...(method === 'POST' && b !== undefined ? { body: b } : {}),
          });
          const text = await res.text();
          expect(res.status, `${method} ${path}${qs} ${text}`).toBeLessThan(500);
          if (res.status >= 400) {
            expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
            expect(text).not.toMatch(/\n\s+at /);
          }
          const created = res.status === 201 || res.status === 202 ? 1 : 0;
          expect(await h.runCount()).toBe(before + created);
        },
      ),
      { numRuns: 300 },
    );
  }, 120_000);
});
