import { afterEach, describe, expect, it } from 'vitest';
import { dag } from '../../src/dag/dag.ts';
import { ticksPage } from '../../src/engine/backfill-ticks.ts';
import { Engine } from '../../src/engine/engine.ts';
import { newestTick, Scheduler } from '../../src/engine/scheduler.ts';
import { StaticDagSource } from '../../src/engine/static-dag-source.ts';
import { decidedRuns } from '../helpers/decided-runs.ts';
import { createTestDb, DIALECTS, type TestDb } from '../helpers/test-db.ts';

const T0 = Date.parse('2026-11-02T00:00:00Z');
const HOUR = 3_600_000;

function dags() {
  const hourly = dag({ id: 'hourly', schedule: '0 * * * *' });
  hourly.task('t', () => 1);
  const caught = dag({ id: 'caught_up', schedule: '0 * * * *', catchup: true });
  caught.task('t', () => 1);
  const paris = dag({ id: 'paris', schedule: '0 2 * * *', timezone: 'Europe/Paris' });
  paris.task('t', () => 1);
  const manual = dag({ id: 'manual' });
  manual.task('t', () => 1);
  return [hourly, caught, paris, manual];
}

describe.each(DIALECTS)('scheduler on %s', (dialect) => {
  let db: TestDb | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
  });

  async function setup(options: { maxTicksPerPass?: number } = {}) {
    db = await createTestDb(dialect);
    let now = T0;
    const list = dags();
    const source = new StaticDagSource(list);
    const engine = new Engine({ db, dags: source, clock: () => now });
    const { submitter } = decidedRuns(db, engine);
    const scheduler = new Scheduler({
      db,
      submitter: () => submitter,
      listDags: () =>
        list.map((d) => ({ env: 'dev', dag: d, version: source.find('dev', d.id)!.version, file: 'x.ts' })),
      clock: () => now,
      ...options,
    });
    const runs = () =>
      db!.kysely
        .selectFrom('runs')
        .select(['dag_id', 'logical_date', 'source', 'requested_by', 'state'])
        .orderBy('logical_date')
        .execute();
    return { scheduler, runs, setNow: (t: number) => (now = t) };
  }

  it('does not run the past for a DAG it sees for the first time', async () => {
    const { scheduler, runs } = await setup();
    expect(await scheduler.tick()).toEqual([]);
    expect(await runs()).toEqual([]);
  });

  it('runs only the newest missed tick when catchup is off, and every missed tick when it is on', async () => {
    const { scheduler, runs, setNow } = await setup();
    await scheduler.tick();
    setNow(T0 + 3 * HOUR + 5_000);
    await scheduler.tick();
    const all = await runs();
    const hourly = all.filter((r) => r.dag_id === 'hourly');
    expect(hourly.map((r) => new Date(r.logical_date!).toISOString())).toEqual(['2026-11-02T03:00:00.000Z']);
    const caught = all.filter((r) => r.dag_id === 'caught_up');
    expect(caught.map((r) => new Date(r.logical_date!).toISOString())).toEqual([
      '2026-11-02T01:00:00.000Z',
      '2026-11-02T02:00:00.000Z',
      '2026-11-02T03:00:00.000Z',
    ]);
    expect(
      all.every((r) => r.source === 'schedule' && r.requested_by === 'scheduler' && r.state === 'queued'),
    ).toBe(true);
    // The same instant again creates nothing new.
    await scheduler.tick();
    expect(await runs()).toHaveLength(all.length);
  });

  it('catches up every missed tick of a long outage, page after page, without dropping the oldest', async () => {
    // A page of 100 ticks stands for the default 1,000: the same paging, a tenth of the runs.
    const { scheduler, runs, setNow } = await setup({ maxTicksPerPass: 100 });
    await scheduler.tick();
    // 250 missed hourly ticks: more than one pass creates.
    setNow(T0 + 250 * HOUR + 5_000);
    let passes = 0;
    for (;;) {
      const made = (await scheduler.tick()).filter((r) => r.dagId === 'caught_up');
      if (made.length === 0) break;
      expect(made.length).toBeLessThanOrEqual(100);
      passes++;
    }
    expect(passes).toBe(3);
    const caught = (await runs()).filter((r) => r.dag_id === 'caught_up').map((r) => r.logical_date!);
    expect(caught).toHaveLength(250);
    expect(caught[0]).toBe(T0 + HOUR);
    expect(caught.at(-1)).toBe(T0 + 250 * HOUR);
    expect(new Set(caught).size).toBe(250);
    expect(caught.every((t, i) => t === T0 + (i + 1) * HOUR)).toBe(true);
  });

  it('fires cron schedules in the DAG’s time zone', async () => {
    const { scheduler, runs, setNow } = await setup();
    await scheduler.tick();
    setNow(T0 + 26 * HOUR);
    await scheduler.tick();
    const paris = (await runs()).filter((r) => r.dag_id === 'paris');
    // 02:00 in Paris is 01:00 UTC in November.
    expect(paris.map((r) => new Date(r.logical_date!).toISOString())).toEqual(['2026-11-03T01:00:00.000Z']);
  });

  it('backfills every tick of a date range once, however often it is asked', async () => {
    const { scheduler, runs } = await setup();
    const from = Date.parse('2026-10-01T00:00:00Z');
    const to = Date.parse('2026-10-03T23:59:59Z');
    const first = await scheduler.backfill('dev', 'paris', from, to);
    expect(first.map((r) => r.outcome)).toEqual(['allow', 'allow', 'allow']);
    const again = await scheduler.backfill('dev', 'paris', from, to);
    expect(again.map((r) => r.outcome)).toEqual(['exists', 'exists', 'exists']);
    const rows = await runs();
    expect(rows.map((r) => [new Date(r.logical_date!).toISOString(), r.source])).toEqual([
      ['2026-10-01T00:00:00.000Z', 'backfill'],
      ['2026-10-02T00:00:00.000Z', 'backfill'],
      ['2026-10-03T00:00:00.000Z', 'backfill'],
    ]);
  });

  it('refuses to backfill a DAG without a schedule or with an empty range', async () => {
    const { scheduler } = await setup();
    await expect(scheduler.backfill('dev', 'manual', T0, T0 + HOUR)).rejects.toMatchObject({
      code: 'REQUEST_INVALID',
      message: 'DAG manual has no schedule, so it has no ticks to backfill',
    });
    await expect(scheduler.backfill('dev', 'hourly', T0 + HOUR, T0)).rejects.toMatchObject({
      code: 'REQUEST_INVALID',
    });
  });
});

describe('schedule ticks', () => {
  it('lists fire times after the start and up to the end, oldest first, a page at a time', () => {
    const minutes = (ts: number[]) => ts.map((t) => (t - T0) / 60_000);
    expect(minutes(ticksPage('*/30 * * * *', 'UTC', T0, T0 + HOUR, 10))).toEqual([30, 60]);
    expect(minutes(ticksPage('*/30 * * * *', 'UTC', T0, T0 + 2 * HOUR, 3))).toEqual([30, 60, 90]);
    expect(minutes(newestTick('*/30 * * * *', 'UTC', T0, T0 + HOUR + 1))).toEqual([60]);
    expect(newestTick('*/30 * * * *', 'UTC', T0, T0 + 60_000)).toEqual([]);
  });
});
