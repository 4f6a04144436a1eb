/** Short human durations for messages: `3m12s`, `5m`, `2h`. @module */

/** Formats whole seconds as `1h2m3s`, dropping zero parts; `0s` for zero. */
export function formatDuration(totalSeconds: number): string {
  if (!Number.isFinite(totalSeconds)) return 'an unbounded time';
  let s = Math.max(0, Math.round(Math.abs(totalSeconds)));
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts = [h ? `${h}h` : '', m ? `${m}m` : '', s ? `${s}s` : ''].join('');
  return parts || '0s';
}

const MAX_DATE_SEC = 8.64e12;

/** `10:41:07Z` when on the given day, else the full ISO instant without milliseconds. */
export function formatInstant(epochSec: number, nowSec: number): string {
  // A token's claims are attacker-shaped: 1e400 parses as Infinity, 1e300 is beyond any Date.
  if (!(Math.abs(epochSec) <= MAX_DATE_SEC)) return `epoch second ${epochSec}`;
  const iso = new Date(epochSec * 1000).toISOString().replace('.000Z', 'Z');
  const sameDay = iso.slice(0, 10) === new Date(nowSec * 1000).toISOString().slice(0, 10);
  return sameDay ? iso.slice(11) : iso;
}
