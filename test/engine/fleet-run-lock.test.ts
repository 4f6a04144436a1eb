/**
 * A fleet completion locks its run so two completions of one run serialise, and nothing more: a
 * worker claiming another task of that run (its attempt insert takes a key-share lock on the run
 * through the foreign key) goes on while the completion's transaction is still open. PostgreSQL only:
 * only PostgreSQL runs a fleet.
 */
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { dag } from '../../src/dag/dag.ts';
import { claimReady } from '../../src/engine/fleet/claim-ready.ts';
import { completeFleetAttempts } from '../../src/engine/fleet/complete-fleet-attempts.ts';
import { StaticDagSource } from '../../src/engine/static-dag-source.ts';
import { runRow } from '../helpers/run-row.ts';
import { createTestDb, type TestDb } from '../helpers/test-db.ts';

let db: TestDb | undefined;
afterEach(async () => {
  await db?.close();
  db = undefined;
});

const d = dag({ id: 'd' });
d.task('a', () => 1);
d.task('b', () => 2);
d.task('c', () => 3);
const dags = new StaticDagSource([{ dag: d, version: 'v1' }]);

/** Run r1: `a` running (attempt with lease token `tok`), `b` queued, `c` running elsewhere. */
async function seed(store: TestDb): Promise<number> {
  await store.kysely
    .insertInto('runs')
    .values(runRow({ id: 'r1' }))
    .execute();
  for (const [task, state] of [
    ['a', 'running'],
    ['b', 'queued'],
    ['c', 'running'],
  ] as const)
    await store.kysely
      .insertInto('task_instances')
      .values({
        run_id: 'r1',
        task_id: task,
        state,
        try_number: state === 'running' ? 1 : 0,
        max_tries: 1,
        updated_at: 1,
      })
      .execute();
  const row = await store.kysely
    .insertInto('attempts')
    .values({
      run_id: 'r1',
      task_id: 'a',
      try_number: 1,
      state: 'running',
      started_at: 1,
      worker_id: 'w1',
      heartbeat_at: 1,
      lease_expires_at: 1_000_000,
      lease_token: 'tok',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

const done = (attemptId: number, taskId: string, leaseToken: string) => ({
  attemptId,
  leaseToken,
  runId: 'r1',
  taskId,
  tryNumber: 1,
  maxTries: 1,
  workerId: 'w1',
  result: { state: 'success' as const, output: 1, outputJson: '1' },
});

/** Completes `a` in a transaction that stays open until `release()`. */
async function holdCompletion(store: TestDb, attemptId: number) {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let entered!: () => void;
  const inside = new Promise<void>((r) => (entered = r));
  const result = store.kysely.transaction().execute(async (trx) => {
    const out = await completeFleetAttempts(trx, dags, [done(attemptId, 'a', 'tok')], 10);
    entered();
    await held;
    return out;
  });
  await inside;
  return { release, result };
}

describe('fleet run locks on postgres', () => {
  it('lets another worker claim a task of a run while a completion of that run is still uncommitted', async () => {
    db = await createTestDb('postgres');
    const open = await holdCompletion(db, await seed(db));
    try {
      // A wait for the completion's run lock would end in lock_timeout (55P03), not in a claim.
      const claims = await db.kysely.transaction().execute(async (trx) => {
        await sql`set local lock_timeout = '3s'`.execute(trx);
        return claimReady(trx, {
          workerId: 'w2',
          queues: ['default'],
          limits: new Map(),
          capacity: 4,
          now: 20,
          leaseMs: 30_000,
        });
      });
      expect(claims.map((c) => [c.runId, c.taskId, c.tryNumber])).toEqual([['r1', 'b', 1]]);
    } finally {
      open.release();
    }
    expect((await open.result).transitions).toEqual([
      expect.objectContaining({ runId: 'r1', taskId: 'a', from: 'running', to: 'success' }),
    ]);
  });

  it('still makes a second completion of the same run wait for the first to commit', async () => {
    db = await createTestDb('postgres');
    const open = await holdCompletion(db, await seed(db));
    try {
      const second = db.kysely.transaction().execute(async (trx) => {
        await sql`set local lock_timeout = '200ms'`.execute(trx);
        return completeFleetAttempts(trx, dags, [done(999, 'c', 'other')], 10);
      });
      await expect(second).rejects.toMatchObject({ code: '55P03' });
    } finally {
      open.release();
    }
    await open.result;
  });
});
