/**
 * The one `--json` shape of every CLI listing: the API's views (the objects `/api/v1` answers), with
 * every time (`*_at`, `*At`, `*_date`, `ts`: epoch ms in the API) as an ISO 8601 string. README.md ("JSON output").
 * @module
 */

const TIME_KEY = /(_at|At|_date)$|^ts$/;

/** `value` with every epoch-ms time field, at any depth, turned into an ISO string. */
export function isoTimes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(isoTimes);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = TIME_KEY.test(k) && typeof v === 'number' ? new Date(v).toISOString() : isoTimes(v);
  }
  return out;
}

/** Prints an API view as `--json` output. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(isoTimes(value), null, 2)}\n`);
}

/** An epoch-ms time for a table cell. */
export function isoCell(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '' : new Date(ms).toISOString();
}
