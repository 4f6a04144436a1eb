import { describe, expect, it } from 'vitest';
import { backfillRange } from '../../src/engine/backfill-bounds.ts';

const iso = (r: { from: number; to: number }) => [
  new Date(r.from).toISOString(),
  new Date(r.to).toISOString(),
];

describe('backfill bounds', () => {
  it('reads dates alone as whole days in the DAG’s time zone, both included', () => {
    expect(iso(backfillRange('2026-10-01', '2026-10-31', 'Europe/Paris'))).toEqual([
      '2026-09-30T22:00:00.000Z',
      '2026-10-31T22:59:59.999Z',
    ]);
    expect(iso(backfillRange('2026-10-01', '2026-10-01', undefined))).toEqual([
      '2026-10-01T00:00:00.000Z',
      '2026-10-01T23:59:59.999Z',
    ]);
  });

  it('reads a time without an offset as wall-clock time in the DAG’s zone, and one with an offset as that instant', () => {
    expect(iso(backfillRange('2026-10-01T06:00', '2026-10-02T02:30:00Z', 'Europe/Paris'))).toEqual([
      '2026-10-01T04:00:00.000Z',
      '2026-10-02T02:30:00.000Z',
    ]);
  });

  it('refuses a bound that is not an ISO 8601 date, and an empty range, saying what to give', () => {
    expect(() => backfillRange('October 1', '2026-10-31', 'UTC')).toThrow(
      expect.objectContaining({
        code: 'REQUEST_INVALID',
        message:
          "--from October 1 is not a date: use ISO 8601, e.g. 2026-11-01 (a whole day in the DAG's time zone) or 2026-11-01T02:00:00Z",
      }),
    );
    expect(() => backfillRange('2026-10-31', '2026-10-01', 'Europe/Paris')).toThrow(
      expect.objectContaining({
        code: 'REQUEST_INVALID',
        message: 'backfill range is empty: --from 2026-10-31 is after --to 2026-10-01 (in Europe/Paris)',
      }),
    );
  });
});
