/**
 * Reads `backfill --from/--to` in the DAG's time zone: a date alone is a whole day, so both bounds
 * are inclusive days (`--to 2026-10-31` includes every tick on October 31); a time without an offset
 * is a wall-clock time there; a time with `Z` or an offset is that instant.
 * @module
 */
import { DateTime } from 'luxon';
import { AirclutchError } from '../lib/errors.ts';

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The range `[from, to]` in epoch ms for a DAG whose schedule runs in `timezone` (default UTC).
 *
 * @example
 * backfillRange('2026-10-01', '2026-10-31', 'Europe/Paris');
 * // { from: 2026-09-30T22:00:00.000Z, to: 2026-10-31T22:59:59.999Z } as epoch ms
 */
export function backfillRange(
  fromText: string,
  toText: string,
  timezone: string | undefined,
): { from: number; to: number } {
  const zone = timezone ?? 'UTC';
  const from = parseBound('--from', fromText, zone).startOf(DATE_ONLY.test(fromText) ? 'day' : 'millisecond');
  const to = DATE_ONLY.test(toText)
    ? parseBound('--to', toText, zone).endOf('day')
    : parseBound('--to', toText, zone);
  if (to.toMillis() < from.toMillis()) {
    throw new AirclutchError(
      'REQUEST_INVALID',
      `backfill range is empty: --from ${fromText} is after --to ${toText} (in ${zone})`,
    );
  }
  return { from: from.toMillis(), to: to.toMillis() };
}

function parseBound(flag: string, value: string, zone: string): DateTime {
  const t = DateTime.fromISO(value, { zone });
  if (!t.isValid) {
    throw new AirclutchError(
      'REQUEST_INVALID',
      `${flag} ${value} is not a date: use ISO 8601, e.g. 2026-11-01 (a whole day in the DAG's time zone) or 2026-11-01T02:00:00Z`,
    );
  }
  return t;
}
