/**
 * Parses time bounds: on the command line (`audit query --since`, `policy replay --since`) an age
 * (`30s`, `30m`, `24h`, `7d`, `2w`), an ISO time, or epoch ms; in the API an ISO time or epoch ms.
 * @module
 */
import { AirclutchError } from './errors.ts';

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** Epoch ms for an ISO time or epoch ms, NaN for anything else. */
export function absoluteTime(value: string): number {
  return /^\d+$/.test(value) ? Number(value) : Date.parse(value);
}

/**
 * Epoch ms for `value`; ages count back from `now`.
 *
 * @example
 * parseTimeBound('7d', Date.now()) // a week ago
 * parseTimeBound('2026-11-01T00:00Z', Date.now())
 */
export function parseTimeBound(value: string, now: number): number {
  const age = /^(\d+)([smhdw])$/.exec(value.trim());
  if (age) return now - Number(age[1]) * UNIT_MS[age[2] as keyof typeof UNIT_MS];
  const ms = absoluteTime(value);
  if (Number.isNaN(ms)) {
    throw new AirclutchError(
      'REQUEST_INVALID',
      `"${value}" is not a time; give an age (7d, 24h, 30m, 2w), an ISO date (2026-11-28T09:00Z) or epoch ms`,
    );
  }
  return ms;
}
