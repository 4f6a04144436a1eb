import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { createWorld, eng, type World } from '../helpers/gate-world.ts';
import { DIALECTS } from '../helpers/test-db.ts';

const CRASHY = {
  'dags/crashy.ts': `
import { dag } from 'airclutch';
const d = dag({ id: 'crashy' });
const first = d.task('first', () => 'one');
const slow = d.task('slow', { after: [first], retries: 1, retryDelayMs: 10 }, async (ctx) => {
  if (ctx.tryNumber === 1) await new Promise((r) => setTimeout(r, 60_000));
  return 'two';
});
d.task('last', { after: [slow] }, (ctx) => ctx.upstream(first) + '+' + ctx.upstream(slow));
export default d;
`,
};

function startChild(w: World): { child: ChildProcess; waitFor(line: string): Promise<void> } {
  const child = spawn(
    process.execPath,
    ['bin/run-ts.js', 'test/fixtures/airclutch-child.ts', w.dir, w.testDb.url, w.testDb.schema ?? '-'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  const waiters: Array<{ line: string; resolve: () => void }> = [];
  child.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
    for (const waiter of [...waiters]) if (out.includes(waiter.line)) waiter.resolve();
  });
  return {
    child,
    waitFor: (line) =>
      new Promise((resolve) => {
        if (out.includes(line)) resolve();
        else waiters.push({ line, resolve });
      }),
  };
}

describe.each(DIALECTS)('the audit trail of one run on %s', { timeout: 90_000 }, (dialect) => {
  let w: World | undefined;
  let child: ChildProcess | undefined;
  afterEach(async () => {
    child?.kill('SIGKILL');
    await w?.dispose();
    w = undefined;
    child = undefined;
  });

  it('records every transition of a run’s life in order, in the transactions that made them, across a kill -9 and its recovery', async () => {
    w = await createWorld(dialect, { files: CRASHY });
    const c = startChild(w);
    child = c.child;
    await c.waitFor('ready');
    const res = await w.gate.trigger(w.ctx(eng), { dagId: 'crashy' });
    expect(res.outcome).toBe('started');
    await c.waitFor('attempt slow 1');
    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));

    // The next engine recovers: the interrupted attempt fails (`crashed`), the task retries, the run ends.
    await w.engine.start();
    expect(await w.engine.waitForRun(res.run.id)).toBe('success');

    const rows = await w.db.kysely
      .selectFrom('audit_records')
      .select(['action', 'outcome', 'task_id', 'details'])
      .where('run_id', '=', res.run.id)
      .orderBy('seq')
      .execute();
    const life = rows.map((r) => {
      const d = r.details ? JSON.parse(r.details) : {};
      return [r.action, r.task_id, d.from ?? null, r.outcome, d.try ?? null];
    });
    expect(life).toEqual([
      ['trigger', null, null, 'started', null],
      ['run.state', null, 'queued', 'running', null],
      ['task.state', 'first', 'queued', 'running', 1],
      ['task.state', 'first', 'running', 'success', 1],
      ['task.state', 'slow', 'queued', 'running', 1],
      ['task.state', 'slow', 'running', 'up_for_retry', 1],
      ['task.state', 'slow', 'queued', 'running', 2],
      ['task.state', 'slow', 'running', 'success', 2],
      ['task.state', 'last', 'queued', 'running', 1],
      ['task.state', 'last', 'running', 'success', 1],
      ['run.state', null, 'running', 'success', null],
    ]);
    const recovered = JSON.parse(rows[5]!.details!);
    expect(recovered.error).toBe('crashed: the process running this attempt stopped before it finished');
    expect((await verifyChain(w.db)).ok).toBe(true);
  });

  it.each([
    {
      change: 'no longer loads',
      code: 'DAG_NOT_FOUND',
      edit: (w: World) => rmSync(join(w.dir, 'dags/crashy.ts')),
      error: /^DAG_NOT_FOUND: DAG crashy is not loaded in environment dev: fix its file/,
    },
    {
      change: 'changed',
      code: 'DAG_CHANGED',
      edit: (w: World) => w.write({ 'dags/crashy.ts': CRASHY['dags/crashy.ts'].replace("'two'", "'TWO'") }),
      error:
        /^DAG_CHANGED: DAG dev\/crashy changed after this run was decided \(decided version \w+, loaded version \w+\)/,
    },
  ])(
    'fails a run whose DAG $change after a kill -9, cancelling its unfinished tasks, and records each change',
    async ({ code, edit, error }) => {
      w = await createWorld(dialect, { files: CRASHY });
      const c = startChild(w);
      child = c.child;
      await c.waitFor('ready');
      const res = await w.gate.trigger(w.ctx(eng), { dagId: 'crashy' });
      await c.waitFor('attempt slow 1');
      child.kill('SIGKILL');
      await new Promise((r) => child!.once('exit', r));
      edit(w);
      await w.registry.reload();

      await w.engine.start();
      expect(await w.engine.waitForRun(res.run.id)).toBe('failed');
      const rows = await w.db.kysely
        .selectFrom('audit_records')
        .select(['action', 'outcome', 'task_id', 'details'])
        .where('run_id', '=', res.run.id)
        .orderBy('seq')
        .execute();
      const tail = rows.slice(5).map((r) => {
        const d = r.details ? JSON.parse(r.details) : {};
        return [r.action, r.task_id, d.from ?? null, r.outcome, d.code ?? null];
      });
      expect(tail).toEqual([
        ['task.state', 'slow', 'running', 'up_for_retry', null],
        ['run.state', null, 'running', 'failed', code],
        ['task.state', 'last', 'pending', 'cancelled', null],
        ['task.state', 'slow', 'up_for_retry', 'cancelled', null],
      ]);
      const run = await w.db.kysely
        .selectFrom('runs')
        .select('error')
        .where('id', '=', res.run.id)
        .executeTakeFirstOrThrow();
      expect(run.error).toMatch(error);
      // Only the version that was decided ran: no attempt after the restart.
      const attempts = await w.db.kysely
        .selectFrom('attempts')
        .select('task_id')
        .where('run_id', '=', res.run.id)
        .execute();
      expect(attempts.map((a) => a.task_id).sort()).toEqual(['first', 'slow']);
    },
  );
});
