import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { dag } from '../../src/dag/dag.ts';
import { Engine } from '../../src/engine/engine.ts';
import type { FleetWorker } from '../../src/engine/fleet/fleet-worker.ts';
import { StaticDagSource } from '../../src/engine/static-dag-source.ts';
import { servicePrincipal } from '../../src/identity/principal.ts';
import { testFleetWorker } from '../helpers/audited-fleet-worker.ts';
import { decidedRuns } from '../helpers/decided-runs.ts';
import { eventually } from '../helpers/eventually.ts';
import { createTestDb, type TestDb } from '../helpers/test-db.ts';

describe('a fleet worker starting a run', () => {
  let db: TestDb;
  let worker: FleetWorker;
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  let running = 0;
  let peak = 0;
  const wide = dag({ id: 'wide', maxActiveRuns: 10 });
  for (let i = 0; i < 5; i++)
    wide.task(`t${i}`, async () => {
      running++;
      peak = Math.max(peak, running);
      await gate;
      running--;
    });
  wide.task('gpu', { queue: 'gpu' }, () => 'never here');
  const dags = new StaticDagSource([{ dag: wide, version: 'wide-1' }]);

  beforeAll(async () => {
    db = await createTestDb('postgres');
    worker = testFleetWorker(db, dags, { concurrency: 2, defaultMaxActiveRuns: 16 });
    await worker.start();
  });
  afterAll(async () => {
    release();
    await worker?.drain(1_000);
    await db?.close();
  });

  it('claims its first tasks only up to its free concurrency and from its own queues', async () => {
    const runs = decidedRuns(db, new Engine({ db, dags }));
    const run = await runs.trigger({
      env: 'dev',
      dagId: 'wide',
      source: 'cli',
      principal: servicePrincipal('test'),
    });
    const states = () =>
      db.kysely
        .selectFrom('task_instances')
        .select(['task_id', 'state'])
        .where('run_id', '=', run.id)
        .orderBy('task_id')
        .execute();
    const first = await eventually(states, (rows) => rows.filter((r) => r.state === 'running').length === 2);
    expect(first.filter((r) => r.state === 'queued').map((r) => r.task_id)).toHaveLength(4);
    expect(first.find((r) => r.task_id === 'gpu')?.state).toBe('queued');
    release();
    const after = await eventually(states, (rows) =>
      rows.filter((r) => r.task_id !== 'gpu').every((r) => r.state === 'success'),
    );
    // No worker serves `gpu`: its task waits, and this worker never tried it.
    expect(after.find((r) => r.task_id === 'gpu')?.state).toBe('queued');
    const attempts = await db.kysely
      .selectFrom('attempts')
      .select('task_id')
      .where('run_id', '=', run.id)
      .execute();
    expect(attempts.map((a) => a.task_id).sort()).toEqual(['t0', 't1', 't2', 't3', 't4']);
    expect(peak).toBeLessThanOrEqual(2);
    expect((await verifyChain(db)).ok).toBe(true);
  });
});
