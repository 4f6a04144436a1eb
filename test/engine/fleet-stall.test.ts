import { afterEach, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { eventually } from '../helpers/eventually.ts';
import { createFleetChildren, type FleetChildren } from '../helpers/fleet-children.ts';

describe('a fleet worker stalled past its lease', () => {
  let f: FleetChildren | undefined;
  afterEach(async () => {
    await f?.dispose();
    f = undefined;
  });

  it('loses the attempt to another worker, and its late completion is refused by fencing and recorded', async () => {
    f = await createFleetChildren();
    const fleet = f;
    const q = fleet.db.kysely;
    const stalled = await fleet.spawn({ concurrency: 1, leaseMs: 1_500 });
    const runId = await fleet.trigger('stall');
    const first = await eventually(
      () => q.selectFrom('attempts').selectAll().where('run_id', '=', runId).execute(),
      (a) => a.length === 1 && a[0]!.state === 'running',
    );
    expect(first[0]!.worker_id).toBe(stalled.id);
    // The event loop stops: no heartbeat, no completion, for longer than the lease.
    stalled.child.kill('SIGSTOP');
    const rescuer = await fleet.spawn({ concurrency: 1, leaseMs: 1_500 });
    const attempts = await eventually(
      () => q.selectFrom('attempts').selectAll().where('run_id', '=', runId).orderBy('try_number').execute(),
      (a) => a.length === 2 && a[1]!.state === 'success',
      { timeoutMs: 40_000, everyMs: 50 },
    );
    expect(attempts[0]).toMatchObject({ state: 'failed', worker_id: stalled.id });
    expect(attempts[0]!.error).toMatch(/^lease_expired: worker .* stopped renewing/);
    expect(attempts[1]).toMatchObject({ state: 'success', worker_id: rescuer.id, try_number: 2 });
    const run = await eventually(
      () => q.selectFrom('runs').select('state').where('id', '=', runId).executeTakeFirst(),
      (r) => r?.state === 'success',
    );
    expect(run?.state).toBe('success');

    // The stalled worker wakes up and tries to complete its attempt: fencing refuses it.
    stalled.child.kill('SIGCONT');
    const refusal = await eventually(
      () =>
        q
          .selectFrom('audit_records')
          .selectAll()
          .where('action', '=', 'attempt.refused')
          .where('run_id', '=', runId)
          .executeTakeFirst(),
      (r) => r !== undefined,
      { timeoutMs: 30_000, everyMs: 50 },
    );
    expect(refusal).toMatchObject({ outcome: 'refused', task_id: 'slow', actor_id: 'engine' });
    expect(JSON.parse(refusal!.details!)).toMatchObject({
      code: 'LEASE_LOST',
      attempt: attempts[0]!.id,
      worker: stalled.id,
    });
    // Nothing the stalled worker did changed the outcome: one success, one idempotent effect.
    const after = await q.selectFrom('attempts').select(['state']).where('run_id', '=', runId).execute();
    expect(after.map((a) => a.state).sort()).toEqual(['failed', 'success']);
    expect(fleet.effects()).toEqual([`${runId}__slow`]);
    const ti = await q
      .selectFrom('task_instances')
      .selectAll()
      .where('run_id', '=', runId)
      .executeTakeFirst();
    expect(ti).toMatchObject({ state: 'success', output: JSON.stringify('done by try 2') });
    expect((await verifyChain(fleet.db)).ok).toBe(true);
  }, 120_000);
});
