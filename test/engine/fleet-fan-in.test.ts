import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dag } from '../../src/dag/dag.ts';
import { Engine } from '../../src/engine/engine.ts';
import type { FleetWorker } from '../../src/engine/fleet/fleet-worker.ts';
import { StaticDagSource } from '../../src/engine/static-dag-source.ts';
import { servicePrincipal } from '../../src/identity/principal.ts';
import { testFleetWorker } from '../helpers/audited-fleet-worker.ts';
import { decidedRuns } from '../helpers/decided-runs.ts';
import { eventually } from '../helpers/eventually.ts';
import { createTestDb, type TestDb } from '../helpers/test-db.ts';

const WIDE = 300;

/** `WIDE` tasks (the one numbered `failAt` throws), then three tasks after all of them. */
function fanIn(id: string, failAt?: number) {
  const d = dag({ id, maxActiveRuns: 10 });
  const all = Array.from({ length: WIDE }, (_, i) =>
    d.task(`t${i}`, () => {
      if (i === failAt) throw new Error(`t${i} fails`);
      return i;
    }),
  );
  d.task('join', { after: all }, (ctx) => ctx.upstream(all[WIDE - 1]!));
  d.task('alert', { after: all, triggerRule: 'one_failed' }, () => 'alerted');
  d.task('always', { after: all, triggerRule: 'all_done' }, () => 'done');
  return d;
}

describe('fleet workers on a task after many others', () => {
  let db: TestDb;
  const workers: FleetWorker[] = [];
  const dags = new StaticDagSource([
    { dag: fanIn('fan_in_ok'), version: 'ok-1' },
    { dag: fanIn('fan_in_late_failure', WIDE - 2), version: 'late-1' },
    { dag: fanIn('fan_in_early_failure', 100), version: 'early-1' },
  ]);

  beforeAll(async () => {
    db = await createTestDb('postgres');
    // Two workers: the upstream tasks end on both, so each sees only some of the completions.
    for (let i = 0; i < 2; i++) workers.push(testFleetWorker(db, dags, { concurrency: 16 }));
    for (const w of workers) await w.start();
  });
  afterAll(async () => {
    for (const w of workers) await w.drain(1_000);
    await db?.close();
  });

  async function settled(dagId: string) {
    const run = await decidedRuns(db, new Engine({ db, dags })).trigger({
      env: 'dev',
      dagId,
      source: 'cli',
      principal: servicePrincipal('test'),
    });
    const ended = await eventually(
      () => db.kysely.selectFrom('runs').select('state').where('id', '=', run.id).executeTakeFirstOrThrow(),
      (r) => r.state === 'success' || r.state === 'failed',
      { timeoutMs: 30_000 },
    );
    const rows = await db.kysely
      .selectFrom('task_instances')
      .select(['task_id', 'state', 'output', 'updated_at'])
      .where('run_id', '=', run.id)
      .where('task_id', 'in', ['join', 'alert', 'always', `t${WIDE - 1}`])
      .execute();
    const tasks = Object.fromEntries(rows.map((r) => [r.task_id, { state: r.state, output: r.output }]));
    const at = Object.fromEntries(rows.map((r) => [r.task_id, Number(r.updated_at)]));
    return { run: ended.state, tasks, at };
  }

  it('runs the join once every upstream task has succeeded, and settles the other rules', async () => {
    const { run, tasks } = await settled('fan_in_ok');
    expect(run).toBe('success');
    expect(tasks.join).toEqual({ state: 'success', output: String(WIDE - 1) });
    expect(tasks.alert!.state).toBe('skipped');
    expect(tasks.always!.state).toBe('success');
  });

  it('fails the join and runs the alert when one upstream task fails, midway or last but one', async () => {
    for (const dagId of ['fan_in_late_failure', 'fan_in_early_failure']) {
      const { run, tasks, at } = await settled(dagId);
      expect(run).toBe('failed');
      expect(tasks.join!.state).toBe('upstream_failed');
      expect(tasks.alert).toEqual({ state: 'success', output: '"alerted"' });
      expect(tasks.always!.state).toBe('success');
      // A failure midway settles the join at once, not when the last upstream task ends.
      if (dagId === 'fan_in_early_failure') expect(at.join).toBeLessThan(at[`t${WIDE - 1}`]!);
    }
  });
});
