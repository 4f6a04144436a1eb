/**
 * Profiling aid: counts the PostgreSQL round trips of the engine's 40-task chain on PostgreSQL
 * (`bench/engine.ts postgres chain`), by wrapping `pg.Client#query`: statements per chain step,
 * grouped by their text, with the time each took on the wire. `node <bundle> [runs]`.
 * @module
 */
import { benchEngine } from './engine.ts';
import { byText, logPgStatements } from './pg-statement-log.ts';

const log = logPgStatements(90);

log.recording = true;
const figures = await benchEngine('postgres', 'chain');
log.recording = false;
console.log(figures);
// 33 chain runs of 40 steps (3 warm-up + 30).
const steps = 33 * 40;
const rows = [...byText(log.entries).entries()].sort((a, b) => b[1].ms - a[1].ms);
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
