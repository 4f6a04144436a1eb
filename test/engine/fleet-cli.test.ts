import { afterEach, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { eventually } from '../helpers/eventually.ts';
import { createFleetWorld, type FleetWorld } from '../helpers/fleet-world.ts';
import { freePort } from '../helpers/free-port.ts';
import { eng } from '../helpers/gate-world.ts';

const CHAIN = {
  'dags/chain.ts': `
import { dag } from 'airclutch';
const d = dag({ id: 'chain' });
const a = d.task('a', (ctx) => ({ n: 1, key: ctx.idempotencyKey, attempt: ctx.attemptId }));
const b = d.task('b', { after: [a] }, (ctx) => ctx.upstream(a).n + 1);
d.task('c', { after: [b] }, (ctx) => ctx.upstream(b) + ctx.upstream(a).n);
export default d;
`,
};

describe('airclutch worker', () => {
  let w: FleetWorld | undefined;
  afterEach(async () => {
    await w?.dispose();
    w = undefined;
  });

  it('runs a gate-triggered run with outputs read from the store, serves /metrics, and drains on SIGTERM with exit 0', async () => {
    w = await createFleetWorld({ files: CHAIN });
    const port = await freePort();
    const worker = await w.spawnWorker(['--concurrency', '4', '--metrics-port', String(port)]);
    const { run } = await w.gate.trigger(w.ctx(eng), { dagId: 'chain' });
    const q = w.db.kysely;
    await eventually(
      () => q.selectFrom('runs').select('state').where('id', '=', run!.id).executeTakeFirst(),
      (r) => r?.state === 'success',
      { timeoutMs: 60_000, everyMs: 50 },
    );
    const tis = await q
      .selectFrom('task_instances')
      .selectAll()
      .where('run_id', '=', run!.id)
      .orderBy('task_id')
      .execute();
    const attemptA = await q
      .selectFrom('attempts')
      .select(['id', 'worker_id'])
      .where('run_id', '=', run!.id)
      .where('task_id', '=', 'a')
      .executeTakeFirstOrThrow();
    expect(attemptA.worker_id).toBe(worker.id);
    expect(JSON.parse(tis[0]!.output!)).toEqual({ n: 1, key: `${run!.id}/a`, attempt: attemptA.id });
    expect(tis.map((t) => [t.task_id, t.state, t.output])).toEqual([
      ['a', 'success', tis[0]!.output],
      ['b', 'success', '2'],
      ['c', 'success', '3'],
    ]);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/airclutch_claim_latency_seconds_count\{queue="default"\} 3/);
    expect(metrics).toContain('airclutch_queue_depth');
    expect(metrics).toContain('airclutch_lease_expiries_total');
    expect(metrics).toContain('airclutch_heartbeats_missed_total');
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(await q.selectFrom('workers').selectAll().execute()).toEqual([]);
    expect((await verifyChain(w.db)).ok).toBe(true);
  }, 120_000);
});
