import { describe, expect, it } from 'vitest';
import { ancestorsOf } from '../../src/dag/ancestors-of.ts';
import { dag } from '../../src/dag/dag.ts';

describe('ancestorsOf', () => {
  it('finds every task upstream, directly or through others, once each', () => {
    const d = dag({ id: 'diamond' });
    const a = d.task('a', () => 1);
    const b = d.task('b', { after: [a] }, () => 2);
    const c = d.task('c', { after: [a] }, () => 3);
    const e = d.task('e', { after: [b, c] }, () => 4);
    d.task('f', { after: [e] }, () => 5);
    d.task('lone', () => 6);
    expect([...ancestorsOf(d.tasks, 'f')].sort()).toEqual(['a', 'b', 'c', 'e']);
    expect([...ancestorsOf(d.tasks, 'b')]).toEqual(['a']);
    expect(ancestorsOf(d.tasks, 'a').size).toBe(0);
    expect(ancestorsOf(d.tasks, 'lone').size).toBe(0);
    expect(ancestorsOf(d.tasks, 'no_such_task').size).toBe(0);
  });

  it('leaves out tasks the filter refuses, and what is upstream only through them', () => {
    const d = dag({ id: 'filtered' });
    const a = d.task('a', () => 1);
    const b = d.task('b', { after: [a] }, () => 2);
    const c = d.task('c', () => 3);
    d.task('e', { after: [b, c] }, () => 4);
    expect([...ancestorsOf(d.tasks, 'e', (id) => id !== 'b')]).toEqual(['c']);
  });

  it('walks a chain of 10,000 tasks to its first task', () => {
    const d = dag({ id: 'deep' });
    let prev = d.task('t0', () => 0);
    for (let i = 1; i < 10_000; i++) prev = d.task(`t${i}`, { after: [prev] }, () => i);
    const up = ancestorsOf(d.tasks, 't9999');
    expect(up.size).toBe(9_999);
    expect(up.has('t0')).toBe(true);
    expect(up.has('t9999')).toBe(false);
  });
});
