/**
 * For the profiling aids: wraps `pg.Client#query` so that, while `recording` is on, each statement
 * that succeeds is logged with when it was sent and its time on the wire.
 * @module
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';

export interface Statement {
  at: number;
  ms: number;
  /** The text, whitespace collapsed, cut at `width`. */
  text: string;
}

export interface StatementLog {
  readonly entries: Statement[];
  recording: boolean;
}

export function logPgStatements(width = 100): StatementLog {
  const log: StatementLog = { entries: [], recording: false };
  const query = pg.Client.prototype.query as (...a: unknown[]) => unknown;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const q = args[0] as string | { text?: string };
    const text = (typeof q === 'string' ? q : (q?.text ?? '?')).replace(/\s+/g, ' ').slice(0, width);
    const t0 = performance.now();
    const res = query.apply(this, args) as Promise<unknown> | undefined;
    if (log.recording && res && typeof res.then === 'function')
      res.then(
        () => log.entries.push({ at: t0, ms: performance.now() - t0, text }),
        () => undefined,
      );
    return res;
  } as typeof pg.Client.prototype.query;
  return log;
}

/** Count and total time per statement text. */
export function byText(entries: readonly Statement[]): Map<string, { n: number; ms: number }> {
  const stats = new Map<string, { n: number; ms: number }>();
  for (const e of entries) {
    const s = stats.get(e.text) ?? { n: 0, ms: 0 };
    s.n++;
    s.ms += e.ms;
    stats.set(e.text, s);
  }
  return stats;
}
