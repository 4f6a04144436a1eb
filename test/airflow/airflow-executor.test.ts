/**
 * The Airflow executor on both stores: delivery that survives Airflow being down, an answer lost
 * after the trigger was sent, a token expiring mid-run, cancel, a remote DAG that changed or went.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { clearTaskFor } from '../../src/airflow/airflow-actions.ts';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { summarizeDag } from '../../src/dag/describe-dag.ts';
import { insertRun } from '../../src/engine/sql/insert-run.ts';
import { cancelRunFor, readLogsFor } from '../../src/gate/gate-reads.ts';
import { createWorld, eng, outsider, type World } from '../helpers/gate-world.ts';
import { DIALECTS } from '../helpers/test-db.ts';
import { FakeAirflow } from './fake-airflow.ts';

const PROD = `
@reason("engineers operate prod")
permit (principal in Group::"data-eng", action in Action::"operate", resource);
@reason("engineers read prod")
permit (principal in Group::"data-eng", action in Action::"read", resource);
@reason("engineers retry failed tasks of their own runs")
permit (principal in Group::"data-eng", action == Action::"clearTask", resource) when { resource.requestedBy == "eng@example.com" };
`;

describe.each(DIALECTS)('the Airflow executor on %s', (dialect) => {
  let fake: FakeAirflow | undefined;
  let w: World | undefined;
  afterEach(async () => {
    await w?.dispose();
    await fake?.close();
    w = undefined;
    fake = undefined;
  });

  async function world(opts: { api?: 'v1' | 'v2'; timeoutMs?: number } = {}) {
    const clock = { now: Date.parse('2026-11-29T04:00:00Z') };
    fake = await FakeAirflow.start({ api: opts.api ?? 'v2' });
    fake.addDag({
      dag_id: 'load_orders',
      owners: ['data-eng'],
      tags: ['orders'],
      params: { rows: { value: 10, schema: { type: 'integer' } } },
    });
    const kind = (opts.api ?? 'v2') === 'v2' ? 'password' : 'basic';
    const config = [
      'environments:',
      '  prod:',
      '    policies: [prod-policies]',
      '    airflow:',
      `      baseUrl: ${fake.url}`,
      `      api: ${opts.api ?? 'v2'}`,
      `      auth: { kind: ${kind}, username: ${fake.credentials.username}, password: { file: airflow-password } }`,
      `      requestTimeoutMs: ${opts.timeoutMs ?? 5000}`,
      '      retries: 1',
      '      retryBaseMs: 1',
      '      pollIntervalMs: 1000',
      '',
    ].join('\n');
    w = await createWorld(dialect, {
      config,
      clock: () => clock.now,
      files: { 'prod-policies/roles.cedar': PROD, 'airflow-password': `${fake.credentials.password}\n` },
    });
    await w.airflow!.catalogs.get('prod')!.refresh();
    await w.policies.load();
    return { w, fake, clock, executor: w.airflow!.executor };
  }

  const runRow = (w: World, id: string) =>
    w.db.kysely.selectFrom('runs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const trail = async (w: World, runId: string) =>
    (
      await w.db.kysely
        .selectFrom('audit_records')
        .select(['action', 'outcome'])
        .where('run_id', '=', runId)
        .orderBy('seq')
        .execute()
    ).map((r) => `${r.action}:${r.outcome}`);

  it('keeps a run that cannot be delivered queued with its error, and delivers it once Airflow is back', async () => {
    const { w, fake, clock, executor } = await world();
    const res = await w.gate.trigger(w.ctx(eng), { env: 'prod', dagId: 'load_orders', params: { rows: 3 } });
    expect(res.outcome).toBe('started');
    await fake.stop();
    await executor.tick();
    const waiting = await runRow(w, res.run.id);
    expect(waiting.state).toBe('queued');
    expect(waiting.error).toMatch(
      /^not delivered to Airflow yet \(attempt 1; next try at 2026-11-29T04:00:01\.000Z\): /,
    );
    expect(waiting.error).toContain('cannot be reached');
    await fake.restart();
    await executor.tick();
    expect(fake.runs.size).toBe(0);
    clock.now += 1_000;
    await executor.tick();
    expect((await runRow(w, res.run.id)).state).toBe('running');
    expect(fake.run('load_orders', `airclutch__${res.run.id}`)?.conf).toEqual({ rows: 3 });
    expect(await trail(w, res.run.id)).toEqual([
      'trigger:started',
      'airflow.trigger:retrying',
      'run.state:running',
      'airflow.trigger:delivered',
    ]);
    expect((await verifyChain(w.db)).ok).toBe(true);
    expect(fake.violations).toEqual([]);
  });

  it('creates the remote run once when the trigger answer comes after the timeout', async () => {
    const { w, fake, executor } = await world({ timeoutMs: 300 });
    const res = await w.gate.trigger(w.ctx(eng), { env: 'prod', dagId: 'load_orders', params: {} });
    fake.faults.holdTriggerMs = 1_500;
    await executor.tick();
    expect(fake.runs.size).toBe(1);
    expect((await runRow(w, res.run.id)).state).toBe('running');
    expect(fake.violations).toEqual([]);
  });

  it('follows a run to its end through a token that expired mid-run', async () => {
    const { w, fake, clock, executor } = await world();
    const res = await w.gate.trigger(w.ctx(eng), { env: 'prod', dagId: 'load_orders', params: {} });
    await executor.tick();
    fake.expireTokens();
    fake.step();
    fake.step();
    clock.now += 5_000;
    await executor.tick();
    const run = await runRow(w, res.run.id);
    expect(run.state).toBe('success');
    expect(fake.tokensIssued).toBe(2);
    expect(fake.violations).toEqual([]);
  });

  it('delivers a run as soon as the gate queues it, without waiting for the next tick', async () => {
    const { w, fake, executor } = await world();
    executor.start();
    try {
      await executor.settled(); // the first tick is done; the next is a timer away
      const res = await w.gate.trigger(w.ctx(eng), { env: 'prod', dagId: 'load_orders', params: {} });
      await executor.settled(); // the tick the gate's insert woke
      expect(fake.run('load_orders', `airclutch__${res.run.id}`)).toBeDefined();
      expect((await runRow(w, res.run.id)).state).toBe('running');
    } finally {
      await executor.stop();
    }
    expect(fake.violations).toEqual([]);
  });

  it("shows a running try's log as it grows, then its final copy, each line once, to a reader following with a cursor", async () => {
    const { w, fake, clock, executor } = await world();
    fake.dags.get('load_orders')!.tasks = ['extract'];
    const res = await w.gate.trigger(w.ctx(eng), { env: 'prod', dagId: 'load_orders', params: {} });
    await executor.tick();
    const remoteRunId = `airclutch__${res.run.id}`;
    // A follower (`runs logs -f`) reads what is new after its cursor, behind readLogs.
    let cursor = 0;
    const follow = async () => {
      const rows = await readLogsFor(w.gate, w.ctx(eng), res.run.id, { afterId: cursor });
      cursor = rows.at(-1)?.id ?? cursor;
      return rows.map((r) => r.line);
    };
    fake.step(); // extract's first try runs
    clock.now += 60_000;
    await executor.tick();
    expect(await follow()).toEqual([`[${remoteRunId}] extract try 1: state running`]);
    fake.appendLog('load_orders', remoteRunId, 'extract', 'read 5 rows');
    clock.now += 60_000;
    await executor.tick();
    expect(await follow()).toEqual(['read 5 rows']);
    clock.now += 60_000;
    await executor.tick();
    expect(await follow()).toEqual([]);
    fake.appendLog('load_orders', remoteRunId, 'extract', 'read 10 rows');
    fake.appendLog('load_orders', remoteRunId, 'extract', 'wrote orders.parquet');
    fake.step(); // the try ends
    clock.now += 60_000;
    await executor.tick();
    expect(await follow()).toEqual([
      'read 10 rows',
      'wrote orders.parquet',
      `[${remoteRunId}] extract try 1: state success`,
    ]);
    expect((await runRow(w, res.run.id)).state).toBe('success');
    const all = await readLogsFor(w.gate, w.ctx(eng), res.run.id);
    expect(all.map((r) => r.line)).toEqual([
      `[${remoteRunId}] extract try 1: state running`,
      'read 5 rows',
      'read 10 rows',
      'wrote orders.parquet',
      `[${remoteRunId}] extract try 1: state success`,
    ]);
    const attempts = await w.db.kysely
      .selectFrom('attempts')
      .select(['task_id', 'try_number', 'state'])
      .where('run_id', '=', res.run.id)
      .execute();
    expect(attempts).toEqual([{ task_id: 'extract', try_number: 1, state: 'success' }]);
    expect(fake.violations).toEqual([]);
  });

  it("fails the run with Airflow's answer when a failed remote run ends, naming the failed task", async () => {
    const { w, fake, clock, executor } = await world({ api: 'v1' });
    fake.dags.get('load_orders')!.outcome = 'failed';
    const res = await w.gate.trigger(w.ctx(eng), { env: 'prod', dagId: 'load_orders', params: {} });
    await executor.tick();
    fake.step();
    fake.step();
    clock.now += 5_000;
    await executor.tick();
    const run = await runRow(w, res.run.id);
    expect(run.state).toBe('failed');
    expect(run.error).toBe(`the Airflow run airclutch__${res.run.id} failed (failed tasks: load)`);
    expect(fake.violations).toEqual([]);
  });

  it('passes a cancel on to Airflow by marking the remote run failed', async () => {
    const { w, fake, executor } = await world();
    const res = await w.gate.trigger(w.ctx(eng), { env: 'prod', dagId: 'load_orders', params: {} });
    await executor.tick();
    expect((await cancelRunFor(w.gate, w.ctx(eng), res.run.id, 'stop it')).state).toBe('cancelled');
    await executor.tick();
    expect(fake.run('load_orders', `airclutch__${res.run.id}`)?.state).toBe('failed');
    expect(await trail(w, res.run.id)).toContain('airflow.cancel:failed');
    expect(fake.violations).toEqual([]);
  });

  it('never delivers a run written around the gate, with no decision record (RUN_UNDECIDED)', async () => {
    const { w, fake, executor } = await world();
    const bare = await w.engine.prepareRun({
      env: 'prod',
      dagId: 'load_orders',
      params: {},
      source: 'api',
      principal: eng,
    });
    await insertRun(w.db.kysely, bare);
    await executor.tick();
    const run = await runRow(w, bare.id);
    expect(run.state).toBe('failed');
    expect(run.error).toMatch(/^RUN_UNDECIDED: run .* has no decision record in the audit trail/);
    expect(fake.runs.size).toBe(0);
    expect(fake.violations).toEqual([]);
  });

  it('does not deliver a run whose remote DAG changed since it was decided', async () => {
    const { w, fake, executor } = await world();
    const res = await w.gate.trigger(w.ctx(eng), { env: 'prod', dagId: 'load_orders', params: {} });
    // The file changed, so Airflow parsed it again.
    fake.dags.get('load_orders')!.params = { rows: { value: 10, schema: { type: 'integer', maximum: 5 } } };
    fake.dags.get('load_orders')!.last_parsed = '2026-11-29T04:05:00.000Z';
    await w.airflow!.catalogs.get('prod')!.refresh();
    await executor.tick();
    const run = await runRow(w, res.run.id);
    expect(run.state).toBe('failed');
    expect(run.error).toMatch(
      /^DAG_CHANGED: DAG prod\/load_orders changed after this run was decided \(decided version [0-9a-f]{16}, loaded version [0-9a-f]{16}\).*; it was not delivered to Airflow$/,
    );
    expect(fake.runs.size).toBe(0);
    const ended = await w.db.kysely
      .selectFrom('audit_records')
      .select(['outcome', 'details'])
      .where('run_id', '=', res.run.id)
      .where('action', '=', 'run.state')
      .execute();
    expect(ended.map((r) => [r.outcome, JSON.parse(r.details!).code])).toEqual([['failed', 'DAG_CHANGED']]);
  });

  it('lists an Airflow DAG in dags list with its Airflow location, owners and tags', async () => {
    const { w, fake } = await world();
    const listed = w.registry.list('prod').map((l) => summarizeDag(l, w.dir));
    expect(listed).toEqual([
      {
        id: 'load_orders',
        env: 'prod',
        schedule: null,
        tasks: 0,
        owner: 'data-eng',
        tags: ['orders'],
        file: `${fake.url} /opt/airflow/dags/load_orders.py`,
      },
    ]);
  });

  it('shows a DAG gone from Airflow as gone, and keeps its runs listed', async () => {
    const { w, fake, executor } = await world();
    const res = await w.gate.trigger(w.ctx(eng), { env: 'prod', dagId: 'load_orders', params: {} });
    await executor.tick();
    fake.dags.delete('load_orders');
    await w.airflow!.catalogs.get('prod')!.refresh();
    expect(w.registry.errors('prod').map((e) => e.message)).toEqual([
      expect.stringMatching(
        /^DAG load_orders is gone from Airflow \(not listed since 2026-11-29T04:00:00\.000Z\); its runs stay listed$/,
      ),
    ]);
    const e = (await w.gate
      .trigger(w.ctx(eng), { env: 'prod', dagId: 'load_orders', params: {} })
      .catch((x: unknown) => x)) as {
      code: string;
      message: string;
    };
    // A gone DAG is not one Cedar can decide on, so a trigger answers as for any missing DAG.
    expect(e.code).toBe('DAG_NOT_FOUND');
    expect(e.message).toContain('DAG load_orders not found in environment prod');
    expect((await runRow(w, res.run.id)).dag_id).toBe('load_orders');
  });

  it('clears a failed task through the gate, reopens the failed run, and follows it to success', async () => {
    const { w, fake, clock, executor } = await world();
    fake.dags.get('load_orders')!.outcome = 'failed';
    const res = await w.gate.trigger(w.ctx(eng), { env: 'prod', dagId: 'load_orders', params: {} });
    await executor.tick();
    fake.step();
    fake.step();
    clock.now += 5_000;
    await executor.tick();
    expect((await runRow(w, res.run.id)).state).toBe('failed');
    const deps = w.airflow!.deps;
    const refused = (await clearTaskFor(deps, w.ctx(outsider), res.run.id, 'load').catch(
      (e: unknown) => e,
    )) as { code: string; message: string };
    expect(refused.code).toBe('POLICY_DENIED');
    expect(refused.message).toContain(`may not clearTask run ${res.run.id}`);
    const notFailed = (await clearTaskFor(deps, w.ctx(eng), res.run.id, 'extract').catch(
      (e: unknown) => e,
    )) as { code: string; message: string };
    expect(notFailed.code).toBe('STATE_CONFLICT');
    expect(notFailed.message).toBe(
      `task extract of run ${res.run.id} is success: only a failed task can be cleared`,
    );
    expect(await clearTaskFor(deps, w.ctx(eng), res.run.id, 'load')).toEqual({
      runId: res.run.id,
      cleared: ['load'],
    });
    expect((await runRow(w, res.run.id)).state).toBe('running');
    fake.dags.get('load_orders')!.outcome = 'success';
    fake.step();
    fake.step();
    clock.now += 5_000;
    await executor.tick();
    expect((await runRow(w, res.run.id)).state).toBe('success');
    expect(await trail(w, res.run.id)).toEqual(
      expect.arrayContaining([
        'clearTask:denied',
        'clearTask:allowed',
        'airflow.clear:cleared',
        'run.state:running',
        'run.state:success',
      ]),
    );
    expect((await verifyChain(w.db)).ok).toBe(true);
    expect(fake.violations).toEqual([]);
  });

  it('starts local runs even when hundreds of Airflow runs wait for delivery', async () => {
    fake = await FakeAirflow.start({ api: 'v2' });
    fake.addDag({ dag_id: 'load_orders' });
    const config = [
      'environments:',
      '  dev:',
      '    dags: [dags]',
      '    policies: [policies]',
      '  prod:',
      '    policies: [prod-policies]',
      '    airflow:',
      `      baseUrl: ${fake.url}`,
      '      api: v2',
      `      auth: { kind: password, username: ${fake.credentials.username}, password: { file: airflow-password } }`,
      '',
    ].join('\n');
    w = await createWorld(dialect, {
      config,
      files: { 'prod-policies/roles.cedar': PROD, 'airflow-password': fake.credentials.password },
    });
    await w.airflow!.catalogs.get('prod')!.refresh();
    await w.policies.load();
    // Airflow is down: none of these can be delivered, and they stay queued.
    await fake.stop();
    for (let i = 0; i < 205; i++)
      await w.gate.trigger(w.ctx(eng), { env: 'prod', dagId: 'load_orders', params: {} });
    const local = await w.gate.trigger(w.ctx(eng), { dagId: 'revenue', params: { rows: 10 } });
    expect(local.outcome).toBe('started');
    await w.engine.start();
    expect(await w.engine.waitForRun(local.run.id)).toBe('success');
    const remote = await w.db.kysely.selectFrom('runs').select('state').where('env', '=', 'prod').execute();
    expect(new Set(remote.map((r) => r.state))).toEqual(new Set(['queued']));
  });
});
