/**
 * The trigger path with one durable commit before Airflow is called: the gate commits the decision
 * and the run together and hands the row to the bridge, which delivers it without reading it back.
 * Delivery stays exactly-once: a wake and a tick racing for the same run, and a crash after Airflow
 * took the trigger but before the delivery was recorded, both end with one remote run and one
 * `airflow.trigger: delivered` record.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { eventually } from '../helpers/eventually.ts';
import { createWorld, eng, type World } from '../helpers/gate-world.ts';
import { DIALECTS } from '../helpers/test-db.ts';
import { FakeAirflow } from './fake-airflow.ts';

const PROD = `
@reason("engineers operate prod")
permit (principal in Group::"data-eng", action in Action::"operate", resource);
`;

describe.each(DIALECTS)('delivering a decided run to Airflow on %s', (dialect) => {
  let fake: FakeAirflow | undefined;
  let w: World | undefined;
  afterEach(async () => {
    await w?.airflow?.executor.stop();
    await w?.dispose();
    await fake?.close();
    w = undefined;
    fake = undefined;
  });

  async function world() {
    fake = await FakeAirflow.start({ api: 'v2' });
    fake.addDag({ dag_id: 'load_orders', params: { rows: { value: 10, schema: { type: 'integer' } } } });
    const config = [
      'environments:',
      '  prod:',
      '    policies: [prod-policies]',
      '    airflow:',
      `      baseUrl: ${fake.url}`,
      '      api: v2',
      `      auth: { kind: password, username: ${fake.credentials.username}, password: { file: airflow-password } }`,
      '      retries: 1',
      '      retryBaseMs: 1',
      '      pollIntervalMs: 60000',
      '',
    ].join('\n');
    w = await createWorld(dialect, {
      config,
      files: { 'prod-policies/roles.cedar': PROD, 'airflow-password': `${fake.credentials.password}\n` },
    });
    await w.airflow!.catalogs.get('prod')!.refresh();
    await w.policies.load();
    return { w, fake, executor: w.airflow!.executor };
  }

  const posts = (f: FakeAirflow) =>
    f.requests.filter((r) => r.method === 'post' && r.path.endsWith('/dagRuns'));
  const delivered = async (w: World, runId: string) =>
    (
      await w.db.kysely
        .selectFrom('audit_records')
        .select('outcome')
        .where('run_id', '=', runId)
        .where('action', '=', 'airflow.trigger')
        .execute()
    ).map((r) => r.outcome);

  it('delivers the row the gate committed at once, and only once when a tick sees it queued too', async () => {
    const { w, fake, executor } = await world();
    executor.start();
    const res = await w.gate.trigger(w.ctx(eng), { env: 'prod', dagId: 'load_orders', params: { rows: 3 } });
    expect(res.outcome).toBe('started');
    // A pass over the queue at the same moment finds the same queued run.
    await executor.deliverQueued();
    const run = await eventually(
      () => w.db.kysely.selectFrom('runs').selectAll().where('id', '=', res.run.id).executeTakeFirstOrThrow(),
      (r) => r.state === 'running',
    );
    expect(run.state).toBe('running');
    await executor.settled();
    expect(fake.run('load_orders', `airclutch__${res.run.id}`)?.conf).toEqual({ rows: 3 });
    expect(await delivered(w, res.run.id)).toEqual(['delivered']);
    expect(posts(fake).filter((r) => r.status === 200)).toHaveLength(1);
    expect((await verifyChain(w.db)).ok).toBe(true);
  });

  it('recovers a crash after Airflow took the trigger: the same dag_run_id again, one remote run, one record', async () => {
    const { w, fake, executor } = await world();
    // The executor is not running: the gate's row waits in the queue, as after a crash.
    const res = await w.gate.trigger(w.ctx(eng), { env: 'prod', dagId: 'load_orders', params: { rows: 4 } });
    const remoteId = `airclutch__${res.run.id}`;
    // The process that crashed had sent the trigger, and Airflow had taken it.
    await w.airflow!.catalogs.get('prod')!.client.triggerRun({
      dagId: 'load_orders',
      runId: remoteId,
      conf: { rows: 4 },
      note: 'sent before the crash',
      logicalDate: new Date().toISOString(),
    });
    await executor.deliverQueued();
    const run = await w.db.kysely
      .selectFrom('runs')
      .selectAll()
      .where('id', '=', res.run.id)
      .executeTakeFirstOrThrow();
    expect(run.state).toBe('running');
    expect([...fake.runs.keys()].filter((k) => k.endsWith(remoteId))).toHaveLength(1);
    expect(posts(fake).map((r) => r.status)).toEqual([200, 409]);
    expect(await delivered(w, res.run.id)).toEqual(['delivered']);
    expect((await verifyChain(w.db)).ok).toBe(true);
  });
});
