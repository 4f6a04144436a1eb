/**
 * Profiling aid: where a PostgreSQL chain step's time goes, from the task's end in its thread to the
 * next task's start (`transition_p50_ms_pg` of `bench/engine.ts postgres chain`): to the cycle's
 * first statement, on the wire, then to the next task's start. Medians over the measured runs, in
 * ms. `node <bundle>`.
 * @module
 */
import { performance } from 'node:perf_hooks';
import { benchEngine } from './engine.ts';
import { logPgStatements } from './pg-statement-log.ts';
import { median } from './stats.ts';

const log = logPgStatements(40);
/** Each chain task's start, with the end of the task before it (see `bench/engine.ts`). */
const marks: Array<{ i: number; t0: number | null; prevEnd: number | null }> = [];
const channel = new BroadcastChannel('airclutch-bench-marks');
channel.onmessage = (e: MessageEvent) => marks.push(e.data as (typeof marks)[number]);

log.recording = true;
console.log(await benchEngine('postgres', 'chain'));
log.recording = false;
channel.close();

const sent = log.entries.map((e) => ({
  at: performance.timeOrigin + e.at,
  done: performance.timeOrigin + e.at + e.ms,
}));
sent.sort((a, b) => a.at - b.at);
const before: number[] = [];
const wire: number[] = [];
const after: number[] = [];
for (const { t0, prevEnd } of marks) {
  if (t0 === null || prevEnd === null) continue;
  const step = sent.filter((s) => s.at >= prevEnd && s.done <= t0);
  if (!step.length) continue;
  const last = Math.max(...step.map((s) => s.done));
  before.push(step[0]!.at - prevEnd);
  wire.push(last - step[0]!.at);
  after.push(t0 - last);
}
const f = (xs: number[]) => median(xs).toFixed(3);
console.log(
  `${before.length} steps: task end → first statement ${f(before)}, on the wire ${f(wire)}, last answer → next task ${f(after)}`,
);
