/**
 * On PostgreSQL a cycle's statement appends the audit records of what it did: each record is
 * placed only if its change happened in that statement, claims with the try number the statement
 * gave, and the chain verifies as any other append.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SqlAuditLog } from '../../src/audit/sql-audit-log.ts';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { completeAndClaim, type StatementRecord } from '../../src/engine/sql/complete-and-claim.ts';
import type { TaskState } from '../../src/engine/states.ts';
import { runRow } from '../helpers/run-row.ts';
import { seedTask } from '../helpers/seed-task.ts';
import { createTestDb, type TestDb } from '../helpers/test-db.ts';

let db: TestDb | undefined;
afterEach(async () => {
  await db?.close();
  db = undefined;
});

const task = (store: TestDb, taskId: string, state: TaskState, tryNumber: number) =>
  seedTask(store, taskId, { state, tryNumber });

const ended = (attemptId: number, taskId: string) => ({
  attemptId,
  runId: 'r1',
  taskId,
  attemptState: 'success' as const,
  taskState: 'success' as const,
  error: null,
  exitCode: null,
  outputJson: '1',
  nextTryAt: null,
});

describe('completeAndClaim with audit records on postgres', () => {
  it('places the records of the attempts it ended and the claims it made, with the try number each claim got, and none for an attempt ended elsewhere', async () => {
    db = await createTestDb('postgres');
    await db.kysely
      .insertInto('runs')
      .values(runRow({ id: 'r1' }))
      .execute();
    const a = (await task(db, 'a', 'running', 1))!;
    const b = (await task(db, 'b', 'running', 1))!;
    await task(db, 'a2', 'pending', 0);
    await task(db, 'b2', 'pending', 0);
    await task(db, 'q', 'queued', 2);
    // Another process ended attempt b first.
    await db.kysely
      .updateTable('attempts')
      .set({ state: 'failed', ended_at: 50 })
      .where('id', '=', b)
      .execute();

    const audit = new SqlAuditLog(db);
    const event = (taskId: string, from: string, to: string, tryNumber: number) => ({
      action: 'task.state',
      actor: { kind: 'service' as const, id: 'engine' },
      source: 'engine',
      resource: { env: 'dev', dagId: 'd', runId: 'r1', taskId },
      outcome: to,
      details: { from, try: tryNumber },
    });
    const [endA, endB, claimA2, claimB2, claimQ] = audit.recordTexts([
      { event: event('a', 'running', 'success', 1), tryFromStore: false },
      { event: event('b', 'running', 'success', 1), tryFromStore: false },
      { event: event('a2', 'queued', 'running', 1), tryFromStore: true },
      { event: event('b2', 'queued', 'running', 1), tryFromStore: true },
      { event: event('q', 'queued', 'running', 1), tryFromStore: true },
    ]);
    const records: StatementRecord[] = [
      { text: endA!, src: a, claim: null },
      { text: endB!, src: b, claim: null },
      { text: claimA2!, src: null, claim: { runId: 'r1', taskId: 'a2' } },
      { text: claimB2!, src: null, claim: { runId: 'r1', taskId: 'b2' } },
      { text: claimQ!, src: null, claim: { runId: 'r1', taskId: 'q' } },
    ];
    const done = await db.kysely.transaction().execute((trx) =>
      completeAndClaim(trx, {
        completions: [ended(a, 'a'), ended(b, 'b')],
        moves: [],
        claims: [
          { runId: 'r1', taskId: 'a2', from: 'pending', src: a },
          { runId: 'r1', taskId: 'b2', from: 'pending', src: b },
          { runId: 'r1', taskId: 'q', from: 'queued', src: null },
        ],
        workerId: 'w2',
        now: 100,
        records,
      }),
    );

    expect([...done.ended]).toEqual([a]);
    expect(done.claimed.map((c) => [c.taskId, c.tryNumber]).sort()).toEqual([
      ['a2', 1],
      ['q', 3],
    ]);
    const rows = await db.kysely
      .selectFrom('audit_records')
      .select(['task_id', 'outcome', 'details'])
      .orderBy('seq')
      .execute();
    expect(rows.map((r) => [r.task_id, r.outcome, JSON.parse(r.details!).try])).toEqual([
      ['a', 'success', 1],
      ['a2', 'running', 1],
      ['q', 'running', 3],
    ]);
    expect(await verifyChain(db, { parallel: false })).toMatchObject({ ok: true });
    await audit.close();
  });
});
