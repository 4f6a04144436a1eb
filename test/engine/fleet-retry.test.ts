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

describe('a fleet worker retrying a task after its backoff', () => {
  let db: TestDb;
  let worker: FleetWorker;
  const tries: number[] = [];
  const flaky = dag({ id: 'flaky' });
  flaky.task('once_fails', { retries: 1, retryDelayMs: 400, retryBackoff: 'fixed' }, () => {
    tries.push(Date.now());
    if (tries.length === 1) throw new Error('first try fails');
  });
  const dags = new StaticDagSource([{ dag: flaky, version: 'flaky-1' }]);

  beforeAll(async () => {
    db = await createTestDb('postgres');
    // Polling alone would find the retry only after a minute.
    worker = testFleetWorker(db, dags, { pollMs: 60_000 });
    await worker.start();
  });
  afterAll(async () => {
    await worker?.drain(1_000);
    await db?.close();
  });

  it('runs the retry when its backoff is over, without waiting for a poll', async () => {
    const run = await decidedRuns(db, new Engine({ db, dags })).trigger({
      env: 'dev',
      dagId: 'flaky',
      source: 'cli',
      principal: servicePrincipal('test'),
    });
    const ended = await eventually(
      () => db.kysely.selectFrom('runs').select('state').where('id', '=', run.id).executeTakeFirstOrThrow(),
      (r) => r.state === 'success',
      { timeoutMs: 10_000 },
    );
    expect(ended.state).toBe('success');
    expect(tries).toHaveLength(2);
    const waited = tries[1]! - tries[0]!;
    expect(waited).toBeGreaterThanOrEqual(400);
    expect(waited).toBeLessThan(5_000);
  });
});
