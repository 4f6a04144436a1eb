/**
 * Ending a cycle's attempts in one go (one statement on PostgreSQL): only attempts still running
 * end, with their task instances; an attempt another process already ended, and its task instance,
 * are left as they are.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type AttemptCompletion, completeAttempts } from '../../src/engine/sql/complete-attempt.ts';
import { runRow } from '../helpers/run-row.ts';
import { seedTask } from '../helpers/seed-task.ts';
import { createTestDb, DIALECTS, type TestDb } from '../helpers/test-db.ts';

let db: TestDb | undefined;
afterEach(async () => {
  await db?.close();
  db = undefined;
});

async function seed(store: TestDb): Promise<Record<string, number>> {
  await store.kysely
    .insertInto('runs')
    .values(runRow({ id: 'r1' }))
    .execute();
  const ids: Record<string, number> = {};
  for (const task of ['a', 'b', 'c']) ids[task] = (await seedTask(store, task, { maxTries: 2 }))!;
  return ids;
}

const completion = (attemptId: number, taskId: string, ok: boolean): AttemptCompletion => ({
  attemptId,
  runId: 'r1',
  taskId,
  attemptState: ok ? 'success' : 'failed',
  taskState: ok ? 'success' : 'up_for_retry',
  error: ok ? null : 'boom',
  exitCode: ok ? null : 3,
  outputJson: ok ? `{"task":"${taskId}"}` : null,
  nextTryAt: ok ? null : 500,
});

describe.each(DIALECTS)('completeAttempts on %s', (dialect) => {
  it('ends only the attempts still running, with their task instances, and leaves one ended elsewhere alone', async () => {
    db = await createTestDb(dialect);
    const ids = await seed(db);
    // Another process recovered attempt b first: it failed it as interrupted.
    await db.kysely
      .updateTable('attempts')
      .set({ state: 'failed', ended_at: 50, error: 'interrupted' })
      .where('id', '=', ids.b!)
      .execute();
    await db.kysely
      .updateTable('task_instances')
      .set({ state: 'up_for_retry', error: 'interrupted', updated_at: 50 })
      .where('task_id', '=', 'b')
      .execute();

    const ended = await db.kysely
      .transaction()
      .execute((trx) =>
        completeAttempts(
          trx,
          [completion(ids.a!, 'a', true), completion(ids.b!, 'b', true), completion(ids.c!, 'c', false)],
          100,
        ),
      );

    expect([...ended].sort()).toEqual([ids.a!, ids.c!].sort());
    const attempts = await db.kysely
      .selectFrom('attempts')
      .select(['task_id', 'state', 'ended_at', 'error', 'exit_code'])
      .orderBy('task_id')
      .execute();
    expect(attempts.map((a) => ({ ...a, ended_at: Number(a.ended_at) }))).toEqual([
      { task_id: 'a', state: 'success', ended_at: 100, error: null, exit_code: null },
      { task_id: 'b', state: 'failed', ended_at: 50, error: 'interrupted', exit_code: null },
      { task_id: 'c', state: 'failed', ended_at: 100, error: 'boom', exit_code: 3 },
    ]);
    const tasks = await db.kysely
      .selectFrom('task_instances')
      .select(['task_id', 'state', 'output', 'error', 'next_try_at', 'updated_at'])
      .orderBy('task_id')
      .execute();
    expect(
      tasks.map((t) => ({
        ...t,
        updated_at: Number(t.updated_at),
        next_try_at: t.next_try_at === null ? null : Number(t.next_try_at),
      })),
    ).toEqual([
      {
        task_id: 'a',
        state: 'success',
        output: '{"task":"a"}',
        error: null,
        next_try_at: null,
        updated_at: 100,
      },
      {
        task_id: 'b',
        state: 'up_for_retry',
        output: null,
        error: 'interrupted',
        next_try_at: null,
        updated_at: 50,
      },
      { task_id: 'c', state: 'up_for_retry', output: null, error: 'boom', next_try_at: 500, updated_at: 100 },
    ]);
  });
});
