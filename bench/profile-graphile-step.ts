/**
 * Profiling aid: the statements graphile-worker sends per step of its 40-job chain
 * (`chain40_s_graphile` of `bench/graphile.ts`), counted by wrapping `pg.Client#query`, to set
 * against `bench/profile-pg-step.ts`. `node <bundle>`.
 * @module
 */
import { benchGraphile } from './graphile.ts';
import { byText, logPgStatements } from './pg-statement-log.ts';

const log = logPgStatements(90);
log.recording = true;

console.log(await benchGraphile());
// 18 chains of 40 steps; the fan-outs add 30,000 jobs.
const steps = 18 * 40;
for (const [text, s] of [...byText(log.entries)].sort((a, b) => b[1].n - a[1].n))
  console.log(
    `${(s.n / steps).toFixed(2).padStart(7)}/step ${(s.ms / s.n).toFixed(3).padStart(7)} ms  ${text}`,
  );
