import { describe, expect, it } from 'vitest';
import { IdTable } from '../../src/lib/id-table.ts';

describe('IdTable', () => {
  it('keeps what is set under its id until it is deleted, and counts what it holds', () => {
    const t = new IdTable<string>();
    expect(t.size).toBe(0);
    expect(t.get(7)).toBeUndefined();
    t.set(7, 'a').set(1_000_000, 'b').set(7, 'c');
    expect(t.size).toBe(2);
    expect(t.get(7)).toBe('c');
    expect(t.has(1_000_000)).toBe(true);
    expect(t.delete(7)).toBe(true);
    expect(t.delete(7)).toBe(false);
    expect(t.has(7)).toBe(false);
    expect(t.size).toBe(1);
  });

  it('lists ids in ascending order, with their values, as snapshots that deleting does not disturb', () => {
    const t = new IdTable<string>();
    for (const id of [30, 2, 100]) t.set(id, `v${id}`);
    expect(t.keys()).toEqual([2, 30, 100]);
    expect(t.values()).toEqual(['v2', 'v30', 'v100']);
    const seen: number[] = [];
    for (const [id, value] of t.entries()) {
      seen.push(id);
      expect(value).toBe(`v${id}`);
      t.delete(id);
    }
    expect(seen).toEqual([2, 30, 100]);
    expect(t.size).toBe(0);
  });

  it('holds undefined as a value, and forgets everything on clear', () => {
    const t = new IdTable<undefined | number>();
    t.set(1, undefined).set(2, 2);
    expect(t.has(1)).toBe(true);
    expect(t.size).toBe(2);
    t.clear();
    expect(t.size).toBe(0);
    expect(t.keys()).toEqual([]);
    t.set(1, 1);
    expect(t.get(1)).toBe(1);
  });
});
