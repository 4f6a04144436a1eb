import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORGOTTEN_AFTER_MS, WorkerHeartbeat } from '../../src/engine/fleet/worker-heartbeat.ts';
import { createTestDb, type TestDb } from '../helpers/test-db.ts';

const NOW = 1_800_000_000_000;

const workerRow = (id: string, lastSeenAt: number) => ({
  id,
  host: 'gone-host',
  pid: 4242,
  queues: '["default"]',
  concurrency: 8,
  running: 1,
  started_at: lastSeenAt - 60_000,
  last_seen_at: lastSeenAt,
  draining: 0,
});

describe('a worker heartbeat', () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await createTestDb('postgres');
  });
  afterAll(async () => {
    await db.close();
  });

  it('registers its worker, and forgets workers silent for five minutes while it keeps those seen since', async () => {
    await db.kysely
      .insertInto('workers')
      .values([
        workerRow('killed-long-ago', NOW - FORGOTTEN_AFTER_MS - 1),
        workerRow('just-died', NOW - 90_000),
      ])
      .execute();
    let now = NOW;
    const beat = new WorkerHeartbeat({
      db,
      workerId: 'alive',
      queues: ['default'],
      concurrency: 4,
      leaseMs: 30_000,
      now: () => now,
      running: () => [],
      draining: () => false,
      onLost: () => undefined,
      onMissed: () => undefined,
      onError: (e) => {
        throw e;
      },
    });
    await beat.beat();
    const ids = async () =>
      (await db.kysely.selectFrom('workers').select('id').orderBy('id').execute()).map((r) => r.id);
    expect(await ids()).toEqual(['alive', 'just-died']);
    // Four minutes on, the second dead worker has been silent for five and a half.
    now += 4 * 60_000;
    await beat.beat();
    expect(await ids()).toEqual(['alive']);
    await beat.stop();
    expect(await ids()).toEqual([]);
  });
});
