/**
 * Profiling aid: counts the PostgreSQL round trips of the engine's 40-task chain on PostgreSQL
 * (`bench/engine.ts postgres chain`), by wrapping `pg.Client#query`: statements per chain step,
 * grouped by their text, with the time each took on the wire. `node <bundle> [runs]`.
 * @module
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { benchEngine } from './engine.ts';

interface Stat {
  n: number;
  ms: number;
}
const stats = new Map<string, Stat>();
let recording = false;
const query = pg.Client.prototype.query as (...a: unknown[]) => unknown;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const q = args[0] as string | { text?: string };
  const text = (typeof q === 'string' ? q : (q?.text ?? '?')).replace(/\s+/g, ' ').slice(0, 90);
  const t0 = performance.now();
  const res = query.apply(this, args) as Promise<unknown> | undefined;
  if (recording && res && typeof (res as Promise<unknown>).then === 'function') {
    (res as Promise<unknown>).then(
      () => {
        const s = stats.get(text) ?? { n: 0, ms: 0 };
        s.n++;
        s.ms += performance.now() - t0;
        stats.set(text, s);
      },
      () => undefined,
    );
  }
  return res;
} as typeof pg.Client.prototype.query;

recording = true;
const figures = await benchEngine('postgres', 'chain');
recording = false;
console.log(figures);
// 33 chain runs of 40 steps (3 warm-up + 30).
const steps = 33 * 40;
const rows = [...stats.entries()].sort((a, b) => b[1].ms - a[1].ms);
let total = 0;
let n = 0;
for (const [text, s] of rows) {
  total += s.ms;
  n += s.n;
  console.log(
    `${(s.n / steps).toFixed(2).padStart(6)}/step ${(s.ms / s.n).toFixed(3).padStart(7)} ms  ${text}`,
  );
}
console.log(
  `${(n / steps).toFixed(2)} statements per step, ${(total / steps).toFixed(3)} ms on the wire per step`,
);
