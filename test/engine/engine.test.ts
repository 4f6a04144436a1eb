import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { dag } from '../../src/dag/dag.ts';
import { type Harness, startHarness } from '../helpers/engine-harness.ts';
import { eventually } from '../helpers/eventually.ts';
import { DIALECTS } from '../helpers/test-db.ts';

function chainDag() {
  const d = dag({ id: 'chain', params: z.object({ n: z.number().int().default(3) }) });
  const a = d.task('extract', (ctx) => {
    ctx.log('extracting', ctx.params.n);
    return { values: Array.from({ length: ctx.params.n }, (_, i) => i + 1) };
  });
  const b = d.task('transform', { after: [a] }, (ctx) => ({
    sum: ctx.upstream(a).values.reduce((x, y) => x + y, 0),
  }));
  d.task('load', { after: [b] }, (ctx) => ctx.upstream(b).sum * 10);
  return d;
}

describe.each(DIALECTS)('engine on %s', (dialect) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('runs tasks in dependency order and passes each output downstream', async () => {
    h = await startHarness(dialect, [chainDag()]);
    const { runId, state } = await h.runAndWait('chain', { n: 4 });
    expect(state).toBe('success');
    const tasks = await h.tasks(runId);
    expect(tasks.extract!.output).toEqual({ values: [1, 2, 3, 4] });
    expect(tasks.transform!.output).toEqual({ sum: 10 });
    expect(tasks.load!.output).toBe(100);
    const attempts = await h.attempts(runId);
    expect(attempts.map((a) => a.task_id)).toEqual(['extract', 'transform', 'load']);
    expect(attempts.every((a) => a.state === 'success')).toBe(true);
    expect(await h.logs(runId, 'extract')).toEqual(['extracting 4']);
  });

  it('refuses params that fail the schema before a run exists, listing every violation', async () => {
    const d = dag({ id: 'strict', params: z.object({ date: z.string(), rows: z.number().int() }) });
    d.task('t', () => 1);
    h = await startHarness(dialect, [d]);
    const err = await h.run('strict', { date: 5, rows: 'many' }).catch((e) => e);
    expect(err.code).toBe('PARAMS_INVALID');
    expect(err.message).toContain('2 problems');
    expect(err.message).toContain('- date:');
    expect(err.message).toContain('- rows:');
    expect(err.details.issues.map((i: { path: string }) => i.path)).toEqual(['date', 'rows']);
    expect(await h.db.kysely.selectFrom('runs').selectAll().execute()).toHaveLength(0);
  });

  it('retries a failing task with exponential backoff until it succeeds', async () => {
    let calls = 0;
    const d = dag({ id: 'flaky' });
    d.task('t', { retries: 3, retryDelayMs: 20 }, () => {
      calls++;
      if (calls < 3) throw new Error(`boom ${calls}`);
      return 'ok';
    });
    h = await startHarness(dialect, [d]);
    const { runId, state } = await h.runAndWait('flaky');
    expect(state).toBe('success');
    const attempts = await h.attempts(runId);
    expect(attempts.map((a) => [a.try_number, a.state, a.error])).toEqual([
      [1, 'failed', 'boom 1'],
      [2, 'failed', 'boom 2'],
      [3, 'success', null],
    ]);
    // Backoff doubles: at least 20 ms, then at least 40 ms between attempts.
    expect(attempts[1]!.started_at - attempts[0]!.ended_at!).toBeGreaterThanOrEqual(20);
    expect(attempts[2]!.started_at - attempts[1]!.ended_at!).toBeGreaterThanOrEqual(40);
  });

  it('fails the run when retries run out, recording the reason of each attempt', async () => {
    const d = dag({ id: 'doomed' });
    const a = d.task('a', { retries: 1, retryDelayMs: 1 }, () => {
      throw { weird: 'object' };
    });
    d.task('b', { after: [a] }, () => 1);
    h = await startHarness(dialect, [d]);
    const { runId, state } = await h.runAndWait('doomed');
    expect(state).toBe('failed');
    const tasks = await h.tasks(runId);
    expect(tasks.a).toMatchObject({
      state: 'failed',
      try_number: 2,
      error: 'non-Error value thrown: {"weird":"object"}',
    });
    expect(tasks.b!.state).toBe('upstream_failed');
    // Each failed try is in the task's log too (an Error's stack would be; this threw no Error).
    expect(await h.logs(runId, 'a')).toEqual([
      'task failed: non-Error value thrown: {"weird":"object"}',
      'task failed: non-Error value thrown: {"weird":"object"}',
    ]);
  });

  it('stops a function task at its timeout even when it never resolves', async () => {
    const d = dag({ id: 'hang' });
    d.task('forever', { timeoutMs: 100 }, () => new Promise(() => {}));
    h = await startHarness(dialect, [d]);
    const { runId, state } = await h.runAndWait('hang');
    expect(state).toBe('failed');
    expect((await h.tasks(runId)).forever!.error).toBe(
      'the attempt did not finish within its 100 ms timeout',
    );
  });

  it('kills a shell task at its timeout', async () => {
    const d = dag({ id: 'slow_shell' });
    d.shell('sleep', { command: 'echo started; sleep 30', timeoutMs: 300 });
    h = await startHarness(dialect, [d]);
    const t0 = Date.now();
    const { runId, state } = await h.runAndWait('slow_shell');
    expect(state).toBe('failed');
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect((await h.tasks(runId)).sleep!.error).toBe('the attempt did not finish within its 300 ms timeout');
    expect(await h.logs(runId, 'sleep')).toEqual(['started']);
  });

  it('streams a shell task’s stdout and stderr and fails on a non-zero exit or a signal', async () => {
    const d = dag({ id: 'shells' });
    d.shell('ok', { command: 'echo out; echo err >&2' });
    d.shell('bad', { command: ['sh', '-c', 'exit 3'] });
    d.shell('killed', { command: 'kill -9 $$' });
    h = await startHarness(dialect, [d]);
    const { runId, state } = await h.runAndWait('shells');
    expect(state).toBe('failed');
    const tasks = await h.tasks(runId);
    expect(tasks.ok).toMatchObject({ state: 'success', output: { exitCode: 0, lastLine: 'out' } });
    expect(tasks.bad).toMatchObject({ state: 'failed', error: 'the command exited with code 3' });
    expect(tasks.killed).toMatchObject({ state: 'failed', error: 'the process was killed by SIGKILL' });
    expect((await h.logs(runId, 'ok')).sort()).toEqual(['err', 'out']);
  });

  it('builds a shell command from the same ctx a function task gets, upstream outputs included', async () => {
    const d = dag({ id: 'built', params: z.object({ who: z.string().default('ana') }) });
    const count = d.task('count', () => ({ rows: 42 }));
    d.shell('report', {
      after: [count],
      command: (ctx) => `echo ${ctx.params.who} ${ctx.upstream(count).rows} ${ctx.tryNumber}`,
    });
    h = await startHarness(dialect, [d]);
    const { runId, state } = await h.runAndWait('built');
    expect(state).toBe('success');
    expect(await h.logs(runId, 'report')).toEqual(['ana 42 1']);
  });

  it('applies trigger rules: cleanup on failure, all_done, none_failed and skipped branches', async () => {
    const d = dag({ id: 'rules' });
    const fail = d.task('fail', () => {
      throw new Error('nope');
    });
    const ok = d.task('ok', () => 1);
    d.task('on_failure', { after: [fail], triggerRule: 'one_failed' }, () => 'alerted');
    d.task('always', { after: [fail, ok], triggerRule: 'all_done' }, () => 'done');
    d.task('needs_success', { after: [fail, ok] }, () => 'never');
    const notFailed = d.task('not_failed', { after: [ok], triggerRule: 'none_failed' }, () => 'fine');
    const skipped = d.task('skip_me', { after: [notFailed], triggerRule: 'one_failed' }, () => 'never');
    d.task('after_skip', { after: [skipped] }, () => 'never');
    h = await startHarness(dialect, [d]);
    const { runId, state } = await h.runAndWait('rules');
    expect(state).toBe('failed');
    const s = Object.fromEntries(Object.entries(await h.tasks(runId)).map(([k, v]) => [k, v.state]));
    expect(s).toEqual({
      fail: 'failed',
      ok: 'success',
      on_failure: 'success',
      always: 'success',
      needs_success: 'upstream_failed',
      not_failed: 'success',
      skip_me: 'skipped',
      after_skip: 'skipped',
    });
  });

  it('keeps runs queued beyond the DAG’s maxActiveRuns until a slot frees', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const d = dag({ id: 'one_at_a_time', maxActiveRuns: 1 });
    d.task('wait', () => gate);
    // No poll in the test's time: the run held back must start because the first one ended.
    h = await startHarness(dialect, [d], { pollIntervalMs: 60_000 });
    const first = await h.run('one_at_a_time');
    const second = await h.run('one_at_a_time');
    const states = async () =>
      Object.fromEntries(
        (await h!.db.kysely.selectFrom('runs').select(['id', 'state']).execute()).map((r) => [r.id, r.state]),
      );
    // The first run's task is running (it waits for `release`), so the engine has had its chance
    // to start the second one too, and must not have.
    await eventually(
      () => h!.tasks(first),
      (t) => t.wait?.state === 'running',
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(await states()).toEqual({ [first]: 'running', [second]: 'queued' });
    release();
    expect(await h.engine.waitForRun(second)).toBe('success');
    expect(await h.engine.waitForRun(first)).toBe('success');
  });

  it('cancels a run: running attempts are stopped and pending tasks never start', async () => {
    const d = dag({ id: 'cancel_me' });
    const sleep = d.shell('sleep', { command: 'sleep 30' });
    d.task('after', { after: [sleep] }, () => 1);
    h = await startHarness(dialect, [d]);
    const runId = await h.run('cancel_me');
    await new Promise<void>((r) =>
      h!.engine.on('task', (e) => {
        if (e.runId === runId && e.state === 'running') r();
      }),
    );
    expect(await h.runs.cancel(runId, 'stopped by test')).toBe(true);
    expect(await h.runs.cancel(runId)).toBe(false);
    expect(await h.engine.waitForRun(runId)).toBe('cancelled');
    await new Promise((r) => setTimeout(r, 200));
    const tasks = await h.tasks(runId);
    expect(tasks.sleep!.state).toBe('cancelled');
    expect(tasks.after!.state).toBe('cancelled');
    expect(h.engine.runningCount).toBe(0);
  });

  it('lets running tasks finish within the shutdown grace period', async () => {
    const d = dag({ id: 'graceful' });
    d.task('short', async () => {
      await new Promise((r) => setTimeout(r, 150));
      return 'finished';
    });
    h = await startHarness(dialect, [d]);
    const runId = await h.run('graceful');
    await eventually(
      () => h!.tasks(runId),
      (t) => t.short?.state === 'running',
    );
    await h.engine.stop(5_000);
    const tasks = await h.tasks(runId);
    expect(tasks.short).toMatchObject({ state: 'success', output: 'finished' });
  });

  it('runs a fan-out of independent tasks under the concurrency limit', async () => {
    let running = 0;
    let peak = 0;
    const d = dag({ id: 'fanout' });
    for (let i = 0; i < 50; i++) {
      d.task(`t${i}`, async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
      });
    }
    h = await startHarness(dialect, [d], { concurrency: 4 });
    const { runId, state } = await h.runAndWait('fanout');
    expect(state).toBe('success');
    expect(peak).toBeLessThanOrEqual(4);
    expect(Object.values(await h.tasks(runId)).every((t) => t.state === 'success')).toBe(true);
  });
  it('claims what a finished task makes ready within the concurrency limit, and starts no run beyond maxActiveRuns', async () => {
    let running = 0;
    let peak = 0;
    const work = async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
    };
    const d = dag({ id: 'fan_after_root', maxActiveRuns: 1 });
    const root = d.task('root', work);
    for (let i = 0; i < 12; i++) d.task(`leaf${i}`, { after: [root] }, work);
    h = await startHarness(dialect, [d], { concurrency: 3 });
    const ids = [await h.run('fan_after_root'), await h.run('fan_after_root')];
    expect(await h.engine.waitForRun(ids[0]!)).toBe('success');
    expect(await h.engine.waitForRun(ids[1]!)).toBe('success');
    // The root's completion readies twelve leaves; the same cycle claims only what the limit allows.
    expect(peak).toBeLessThanOrEqual(3);
    const runs = await h.db.kysely
      .selectFrom('runs')
      .select(['started_at', 'ended_at'])
      .where('id', 'in', ids)
      .orderBy('started_at')
      .execute();
    // maxActiveRuns 1: the second run starts only once the first has ended.
    expect(Number(runs[1]!.started_at)).toBeGreaterThanOrEqual(Number(runs[0]!.ended_at));
    for (const id of ids)
      expect(Object.values(await h.tasks(id)).every((t) => t.state === 'success')).toBe(true);
  });

  it('leaves the tasks after a finished task alone when another process ended its attempt first', async () => {
    let releaseFirst: () => void = () => {};
    let releaseMarker: () => void = () => {};
    const firstGate = new Promise<void>((r) => {
      releaseFirst = r;
    });
    const markerGate = new Promise<void>((r) => {
      releaseMarker = r;
    });
    let nextRan = false;
    const d = dag({ id: 'fenced' });
    const first = d.task('first', async () => {
      await firstGate;
      return 'late';
    });
    d.task('next', { after: [first] }, () => {
      nextRan = true;
    });
    d.task('marker', async () => {
      await markerGate;
      return 'after';
    });
    h = await startHarness(dialect, [d]);
    const runId = await h.run('fenced');
    await eventually(
      () => h!.attempts(runId, 'first'),
      (a) => a.length === 1 && a[0]!.state === 'running',
    );
    // What a process that reclaimed the attempt would have written (its lease expired, say).
    await h.db.kysely
      .updateTable('attempts')
      .set({ state: 'failed', ended_at: Date.now(), error: 'lease_expired: reclaimed elsewhere' })
      .where('run_id', '=', runId)
      .where('task_id', '=', 'first')
      .execute();
    await h.db.kysely
      .updateTable('task_instances')
      .set({ state: 'failed' })
      .where('run_id', '=', runId)
      .where('task_id', '=', 'first')
      .execute();
    releaseFirst();
    releaseMarker();
    // The marker ends after the first task's late completion, so once it is stored, that completion
    // has been through a cycle.
    await eventually(
      () => h!.tasks(runId),
      (t) => t.marker?.state === 'success',
    );
    const tasks = await h.tasks(runId);
    expect(tasks.first).toMatchObject({ state: 'failed' });
    expect(tasks.next).toMatchObject({ state: 'pending' });
    expect(await h.attempts(runId, 'next')).toEqual([]);
    expect(nextRan).toBe(false);
    const [after] = await h.attempts(runId, 'first');
    expect(after).toMatchObject({ state: 'failed', error: 'lease_expired: reclaimed elsewhere' });
  });
});

describe('params', () => {
  it('refuses params the schema does not declare, naming the ones it takes', async () => {
    const d = dag({ id: 'typo', params: z.object({ rows: z.number().default(1) }) });
    d.task('t', () => 1);
    const err = await d.parseParams({ rowz: 5 }).catch((e) => e);
    expect(err.code).toBe('PARAMS_INVALID');
    expect(err.message).toContain('- rowz: unknown param; this DAG takes rows');
    expect(await d.parseParams({})).toEqual({ rows: 1 });
  });
});
