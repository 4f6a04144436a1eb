/**
 * The schedule ticks of a backfill range, in pages: a range is processed whole, page after page, and
 * a range too large to be meant is refused up front with its size and the limit. No tick is dropped.
 * @module
 */
import { Cron } from 'croner';
import { AirclutchError } from '../lib/errors.ts';

/** Ticks computed and submitted at a time. */
export const BACKFILL_PAGE = 1_000;
/** The most ticks one backfill creates unless the caller raises it (`--max-ticks`). */
export const DEFAULT_MAX_BACKFILL_TICKS = 100_000;

/** A paused croner instance of `schedule` in `timezone` (UTC by default), to compute fire times. */
export function cronOf(schedule: string, timezone: string | undefined): Cron {
  return new Cron(schedule, { timezone: timezone ?? 'UTC', paused: true });
}

/**
 * The oldest `limit` fire times `t` of the schedule with `after < t <= until`.
 *
 * @example
 * let page = ticksPage('0 * * * *', 'UTC', from - 1, to, BACKFILL_PAGE); // then after = page.at(-1)
 */
export function ticksPage(
  schedule: string,
  timezone: string | undefined,
  after: number,
  until: number,
  limit: number,
): number[] {
  const cron = cronOf(schedule, timezone);
  const out: number[] = [];
  let cursor = new Date(after);
  while (out.length < limit) {
    const next = cron.nextRun(cursor);
    if (!next || next.getTime() > until) break;
    out.push(next.getTime());
    cursor = next;
  }
  return out;
}

/**
 * Refuses (`REQUEST_INVALID`, with the count and the limit) a range of more than `maxTicks` ticks,
 * before any run is created. Counting stops at ten times the limit.
 */
export function checkBackfillSize(
  schedule: string,
  timezone: string | undefined,
  from: number,
  to: number,
  maxTicks: number,
): void {
  const stopAt = maxTicks * 10;
  const cron = cronOf(schedule, timezone);
  let count = 0;
  let cursor = new Date(from - 1);
  for (;;) {
    const next = cron.nextRun(cursor);
    if (!next || next.getTime() > to || count > stopAt) break;
    count++;
    cursor = next;
  }
  if (count <= maxTicks) return;
  const size = count > stopAt ? `more than ${stopAt}` : String(count);
  throw new AirclutchError(
    'REQUEST_INVALID',
    `the range ${new Date(from).toISOString()} to ${new Date(to).toISOString()} holds ${size} ticks of schedule "${schedule}", over the limit of ${maxTicks} for one backfill; nothing was created. Split the range, or raise the limit with --max-ticks`,
    { details: { ticks: count > stopAt ? null : count, limit: maxTicks } },
  );
}
