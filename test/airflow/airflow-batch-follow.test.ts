/**
 * Following many remote runs costs a few batch calls per pass (Airflow's `dagRuns/list` and
 * `taskInstances/list`, paged past Airflow's page cap), not two calls per run; a run is read on its
 * own only once it has left the active list; an Airflow without the batch endpoints is polled run
 * by run.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskState } from '../../src/engine/states.ts';
import { createWorld, eng, type World } from '../helpers/gate-world.ts';
import { FakeAirflow } from './fake-airflow.ts';

const PROD = `
@reason("engineers operate prod")
permit (principal in Group::"data-eng", action in Action::"operate", resource);
`;

describe.each(['v2', 'v1'] as const)('following remote runs in batch on the %s API', (api) => {
  let fake: FakeAirflow | undefined;
  let w: World | undefined;
  afterEach(async () => {
    await w?.dispose();
    await fake?.close();
    w = undefined;
    fake = undefined;
  });

  async function world() {
    const clock = { now: Date.parse('2026-11-29T04:00:00Z') };
    fake = await FakeAirflow.start({ api });
    fake.addDag({ dag_id: 'load_orders', tasks: ['extract', 'load'] });
    fake.addDag({ dag_id: 'load_refunds', tasks: ['extract', 'load'] });
    const config = [
      'environments:',
      '  prod:',
      '    policies: [prod-policies]',
      '    airflow:',
      `      baseUrl: ${fake.url}`,
      `      api: ${api}`,
      `      auth: { kind: ${api === 'v2' ? 'password' : 'basic'}, username: ${fake.credentials.username}, password: { file: airflow-password } }`,
      '      retries: 0',
      '      pollIntervalMs: 1000',
      '',
    ].join('\n');
    w = await createWorld('sqlite', {
      config,
      clock: () => clock.now,
      files: { 'prod-policies/roles.cedar': PROD, 'airflow-password': `${fake.credentials.password}\n` },
    });
    await w.airflow!.catalogs.get('prod')!.refresh();
    await w.policies.load();
    return { w, fake, clock, executor: w.airflow!.executor };
  }

  /** Triggers `n` runs spread over two DAGs and delivers them; returns their ids. */
  async function delivered(w: World, clock: { now: number }, n: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      // Airflow 2 takes one run per logical date of a DAG: Airclutch sends the decision's time.
      clock.now += 1;
      const dagId = i % 2 ? 'load_refunds' : 'load_orders';
      const res = await w.gate.trigger(w.ctx(eng), { env: 'prod', dagId, params: {} });
      ids.push(res.run.id);
    }
    await w.airflow!.executor.deliverQueued();
    return ids;
  }

  const perRunReads = (f: FakeAirflow, from: number) =>
    f.requests
      .slice(from)
      .filter((r) => r.method === 'get' && /\/dagRuns\/airclutch__[^/]+(\/taskInstances)?$/.test(r.path));
  const states = async (w: World, state: TaskState) =>
    (await w.db.kysely.selectFrom('task_instances').select('run_id').where('state', '=', state).execute())
      .length;

  it('reads 30 running runs with a few paged batch calls, and a run on its own only once it ended', async () => {
    const { w, fake, clock, executor } = await world();
    fake.maxPageLimit = 20;
    const ids = await delivered(w, clock, 30);
    await executor.followRunning();
    fake.step();
    clock.now += 60_000;
    const from = fake.requests.length;
    fake.batchCalls = 0;
    await executor.followRunning();
    // 30 active runs: 2 pages of 20; 60 task instances: 3 pages of 20.
    expect(fake.batchCalls).toBe(5);
    expect(perRunReads(fake, from)).toEqual([]);
    expect(await states(w, 'running')).toBe(60);

    fake.step();
    clock.now += 60_000;
    const end = fake.requests.length;
    fake.batchCalls = 0;
    await executor.followRunning();
    // None is active any more: one page says so; each run is then read with its tasks, once.
    expect(fake.batchCalls).toBe(1 + 3);
    expect(perRunReads(fake, end)).toHaveLength(60);
    const runs = await w.db.kysely
      .selectFrom('runs')
      .select(['id', 'state'])
      .where('id', 'in', ids)
      .execute();
    expect(runs.every((r) => r.state === 'success')).toBe(true);
    expect(await states(w, 'success')).toBe(60);
    expect(executor.followedCount).toBe(0);
    expect(fake.violations).toEqual([]);
  });

  it('polls run by run an Airflow that answers 404 to the batch endpoints', async () => {
    const { w, fake, clock, executor } = await world();
    const ids = await delivered(w, clock, 3);
    fake.step();
    // The first batch call of the pass is refused as a missing endpoint would be.
    fake.faults.failNext = { status: 404, count: 1 };
    const from = fake.requests.length;
    await executor.followRunning();
    expect(perRunReads(fake, from)).toHaveLength(6);
    expect(await states(w, 'running')).toBe(6);
    fake.step();
    clock.now += 60_000;
    fake.batchCalls = 0;
    await executor.followRunning();
    expect(fake.batchCalls).toBe(0);
    const runs = await w.db.kysely.selectFrom('runs').select('state').where('id', 'in', ids).execute();
    expect(runs.map((r) => r.state)).toEqual(['success', 'success', 'success']);
  });
});
