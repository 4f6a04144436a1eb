/**
 * Profiling aid: the statements graphile-worker sends per step of its 40-job chain
 * (`chain40_s_graphile` of `bench/graphile.ts`), counted by wrapping `pg.Client#query`, to set
 * against `bench/profile-pg-step.ts`. `node <bundle>`.
 * @module
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { benchGraphile } from './graphile.ts';

const stats = new Map<string, { n: number; ms: number }>();
const query = pg.Client.prototype.query as (...a: unknown[]) => unknown;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const q = args[0] as string | { text?: string };
  const text = (typeof q === 'string' ? q : (q?.text ?? '?')).replace(/\s+/g, ' ').slice(0, 90);
  const t0 = performance.now();
  const res = query.apply(this, args) as Promise<unknown> | undefined;
  if (res && typeof res.then === 'function')
    res.then(
      () => {
        const s = stats.get(text) ?? { n: 0, ms: 0 };
        s.n++;
        s.ms += performance.now() - t0;
        stats.set(text, s);
      },
      () => undefined,
    );
  return res;
} as typeof pg.Client.prototype.query;

console.log(await benchGraphile());
// 18 chains of 40 steps; the fan-outs add 30,000 jobs.
const steps = 18 * 40;
for (const [text, s] of [...stats].sort((a, b) => b[1].n - a[1].n))
  console.log(
    `${(s.n / steps).toFixed(2).padStart(7)}/step ${(s.ms / s.n).toFixed(3).padStart(7)} ms  ${text}`,
  );
