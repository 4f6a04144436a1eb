import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { dag, isDag } from '../../src/dag/dag.ts';
import { AirclutchError } from '../../src/lib/errors.ts';

async function rejection(p: Promise<unknown> | (() => unknown)): Promise<AirclutchError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (e instanceof AirclutchError) return e;
    throw e;
  }
  throw new Error('expected an AirclutchError');
}

describe('dag builder', () => {
  const withParams = () =>
    dag({
      id: 'p',
      params: z.object({
        rows: z.number().int().min(1).default(10),
        mode: z.enum(['full', 'delta']),
        nested: z.object({ limit: z.number().max(5) }).optional(),
      }),
    });

  it('parses typed params and applies defaults', async () => {
    const parsed = await withParams().parseParams({ mode: 'full' });
    expect(parsed).toEqual({ rows: 10, mode: 'full' });
  });

  it('lists every params violation with its path', async () => {
    const e = await rejection(withParams().parseParams({ rows: 0, nested: { limit: 9 } }));
    expect(e.code).toBe('PARAMS_INVALID');
    expect(e.message).toMatch(/^params for DAG p do not match its schema \(3 problems\):\n/);
    expect(e.message).toContain('- rows: ');
    expect(e.message).toContain('- mode: ');
    expect(e.message).toContain('- nested.limit: ');
    expect((e.details!.issues as { path: string }[]).map((i) => i.path)).toEqual([
      'rows',
      'mode',
      'nested.limit',
    ]);
  });

  it('refuses params for a DAG that declares none, and accepts none', async () => {
    const d = dag({ id: 'none' });
    expect(await d.parseParams(undefined)).toEqual({});
    const e = await rejection(d.parseParams({ x: 1 }));
    expect([e.code, e.message]).toEqual([
      'PARAMS_INVALID',
      'DAG none takes no params, but params were given',
    ]);
  });

  it('refuses a task id used twice', async () => {
    const d = dag({ id: 'twice' });
    d.task('a', () => 1);
    const e = await rejection(() => d.task('a', () => 2));
    expect([e.code, e.message]).toEqual(['DAG_INVALID', 'DAG twice: task id "a" is used twice']);
  });

  it('refuses invalid DAG and task ids', async () => {
    const e = await rejection(() => dag({ id: 'has space' }));
    expect(e.code).toBe('DAG_INVALID');
    expect(e.message).toBe(
      "DAG id \"has space\" is invalid: use letters, digits, '_', '.' or '-' (at most 128)",
    );
    const t = await rejection(() => dag({ id: 'ok' }).task('-bad', () => 1));
    expect([t.code, t.message]).toEqual(['DAG_INVALID', 'DAG ok: task id "-bad" is invalid']);
  });

  it('records where dag() was called and is recognised by isDag', () => {
    const d = dag({ id: 'where' });
    expect(d.definedAt).toMatch(/dag\.test\.ts:\d+:\d+$/);
    expect(isDag(d)).toBe(true);
    expect(isDag({ id: 'where' })).toBe(false);
  });
});

describe('dag validation', () => {
  it('names the tasks of a cycle', async () => {
    const d = dag({ id: 'cyc' });
    d.task('a', { after: ['c'] }, () => 1);
    d.task('b', { after: ['a'] }, () => 1);
    d.task('c', { after: ['b'] }, () => 1);
    const e = await rejection(() => d.validate());
    expect(e.code).toBe('DAG_INVALID');
    expect(e.message).toBe('DAG cyc is invalid:\n- tasks form a cycle: a -> b -> c -> a');
  });

  it('reports an unknown dependency, an invalid cron and an unknown time zone together', async () => {
    const d = dag({ id: 'bad', schedule: 'every tuesday', timezone: 'Nowhere/City' });
    d.task('a', { after: ['ghost'] }, () => 1);
    const e = await rejection(() => d.validate());
    expect(e.code).toBe('DAG_INVALID');
    const problems = e.details!.problems as string[];
    expect(problems[0]).toBe('task a depends on unknown task ghost');
    expect(problems[1]).toBe('time zone Nowhere/City is unknown');
    expect(problems[2]).toMatch(/^schedule "every tuesday" is invalid: /);
  });

  it('refuses params that are not an object schema, or not a schema at all', async () => {
    const scalar = dag({ id: 'scalar', params: z.string() });
    scalar.task('a', () => 1);
    expect((await rejection(() => scalar.validate())).details!.problems).toEqual([
      'params must be an object schema, such as `z.object({ rows: z.number() })`',
    ]);
    const plain = dag({ id: 'plain', params: { rows: 'number' } as never });
    plain.task('a', () => 1);
    expect((await rejection(() => plain.validate())).details!.problems).toEqual([
      "params is not a schema Airclutch can read: use zod 4.2 or later, as `import { z } from 'airclutch/zod'` gives",
    ]);
  });

  it('accepts a sound DAG with a preset schedule', () => {
    const d = dag({ id: 'fine', schedule: '@daily', timezone: 'Europe/Paris' });
    const a = d.task('a', () => 1);
    d.shell('b', { after: [a], command: 'true' });
    expect(() => d.validate()).not.toThrow();
  });
});
