import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlAuditLog } from '../../src/audit/sql-audit-log.ts';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { dag } from '../../src/dag/dag.ts';
import { Engine } from '../../src/engine/engine.ts';
import { FleetWorker } from '../../src/engine/fleet/fleet-worker.ts';
import { leaseLostEvent } from '../../src/engine/fleet/lease-lost-event.ts';
import { FunctionTaskRunner } from '../../src/engine/function-task-runner.ts';
import { ShellTaskRunner } from '../../src/engine/shell-task-runner.ts';
import { StaticDagSource } from '../../src/engine/static-dag-source.ts';
import { transitionEvents } from '../../src/gate/audit-events.ts';
import { servicePrincipal } from '../../src/identity/principal.ts';
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
    const audit = new SqlAuditLog(db);
    worker = new FleetWorker({
      db,
      url: `${db.url}?options=${encodeURIComponent(`-c search_path=${db.schema}`)}`,
      dags,
      hooks: {
        onTransitions: async (trx, transitions) => {
          const events = transitionEvents(transitions);
          if (events.length) await audit.append(events, { trx });
        },
      },
      runners: { function: new FunctionTaskRunner(), shell: new ShellTaskRunner() },
      submitter: () => {
        throw new TypeError('these DAGs trigger nothing');
      },
      concurrency: 2,
      queues: ['default'],
      queueLimits: new Map(),
      leaseMs: 30_000,
      defaultMaxActiveRuns: 16,
      recordRefusals: async (trx, refused) => {
        await audit.append(refused.map(leaseLostEvent), { trx });
      },
      onError: (e) => {
        throw e;
      },
    });
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
