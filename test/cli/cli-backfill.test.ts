import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.ts';
import { openStore } from '../../src/store/open-store.ts';
import { DAGS } from '../helpers/gate-world.ts';
import { type CliWorld, cliWorld } from './cli-world.ts';

let world: CliWorld;

const NIGHTLY = `
import { dag } from 'airclutch';
const d = dag({ id: 'nightly', schedule: '0 2 * * *', timezone: 'Europe/Paris', owner: 'data-eng' });
d.task('aggregate', () => 1);
export default d;
`;

/** The logical dates of the DAG's runs in the store, oldest first. */
async function runDates(dagId: string): Promise<string[]> {
  const db = await openStore(await loadConfig({ path: world.configPath }));
  try {
    const rows = await db.kysely
      .selectFrom('runs')
      .select('logical_date')
      .where('dag_id', '=', dagId)
      .orderBy('logical_date')
      .execute();
    return rows.map((r) => new Date(r.logical_date!).toISOString());
  } finally {
    await db.close();
  }
}

async function backfill(...args: string[]) {
  return world.cli(['backfill', ...args, '--json'], { as: 'eng@example.com' });
}

describe('backfill through the CLI', { timeout: 300_000 }, () => {
  beforeAll(async () => {
    world = await cliWorld({ ...DAGS, 'dags/nightly.ts': NIGHTLY });
  });
  afterAll(() => world?.close());

  it('reads date-only bounds as whole days in the DAG’s time zone: October in Paris is 31 runs, the 31st included', async () => {
    const res = await backfill('nightly', '--from', '2026-10-01', '--to', '2026-10-31');
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const results: Array<{ logical_date: string; outcome: string }> = JSON.parse(res.stdout);
    expect(results).toHaveLength(31);
    expect(new Set(results.map((r) => r.outcome))).toEqual(new Set(['started']));
    // 02:00 in Paris: CEST (UTC+2) until October 25, CET (UTC+1) after.
    expect(results[0]!.logical_date).toBe('2026-10-01T00:00:00.000Z');
    expect(results.at(-1)!.logical_date).toBe('2026-10-31T01:00:00.000Z');
    const dates = await runDates('nightly');
    expect(dates).toHaveLength(31);
    expect(dates.at(-1)).toBe('2026-10-31T01:00:00.000Z');
  });

  it('creates every tick of a range larger than one page, none dropped', async () => {
    // Hourly in UTC over 46 days: 1,104 ticks, more than a page of 1,000.
    const res = await backfill('cleanup', '--from', '2026-10-01', '--to', '2026-11-15');
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const results: Array<{ logical_date: string; outcome: string }> = JSON.parse(res.stdout);
    expect(results).toHaveLength(46 * 24);
    expect(new Set(results.map((r) => r.outcome))).toEqual(new Set(['started']));
    const dates = await runDates('cleanup');
    expect(dates).toHaveLength(46 * 24);
    expect(new Set(dates).size).toBe(46 * 24);
    expect([dates[0], dates.at(-1)]).toEqual(['2026-10-01T00:00:00.000Z', '2026-11-15T23:00:00.000Z']);
  });

  it('refuses a range over the limit before creating any run, naming its size and the limit', async () => {
    const res = await backfill('cleanup', '--from', '2026-12-01', '--to', '2026-12-02', '--max-ticks', '10');
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      'error[REQUEST_INVALID]: the range 2026-12-01T00:00:00.000Z to 2026-12-02T23:59:59.999Z holds 48 ticks of schedule "0 * * * *", over the limit of 10 for one backfill; nothing was created. Split the range, or raise the limit with --max-ticks\n',
    );
    expect((await runDates('cleanup')).filter((d) => d.startsWith('2026-12'))).toEqual([]);
  });
});
