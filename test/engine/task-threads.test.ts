import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dag } from '../../src/dag/dag.ts';
import { loadDagFolder } from '../../src/dag/load-dag-folder.ts';
import { ThreadTaskRunner } from '../../src/engine/thread-task-runner.ts';
import { type Harness, startHarness } from '../helpers/engine-harness.ts';
import { eventually } from '../helpers/eventually.ts';
import { DIALECTS } from '../helpers/test-db.ts';

/** Writes DAG files to a fresh folder and loads them as the registry does (bundled modules). */
async function loadDags(files: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'airclutch-threads-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const { dags, errors } = await loadDagFolder(dir, { env: 'dev', cacheDir: join(dir, '.cache') });
  expect(errors).toEqual([]);
  return { dir, dags: dags.map((d) => d.dag) };
}

const CTX_DAG = `
import { threadId } from 'node:worker_threads';
import { dag } from 'airclutch';
const d = dag({ id: 'ctx_dag' });
const a = d.task('a', { retries: 1 }, (ctx) => {
  if (ctx.tryNumber === 1) throw new Error('first try fails');
  return { threadId, n: ctx.params.n ?? 41, tries: [ctx.tryNumber, ctx.maxTries], run: ctx.runId };
});
const b = d.task('b', { after: [a] }, (ctx) => ctx.upstream(a).n + 1);
d.task('c', { after: [b] }, async (ctx) => {
  ctx.log('upstream says', { a: ctx.upstream(a).n, b: ctx.upstream('b') });
  let refused = null;
  try { ctx.upstream('c'); } catch (e) { refused = e.code; }
  const started = await ctx.trigger('target');
  return { started, refused, aborted: ctx.signal.aborted, signal: ctx.signal instanceof AbortSignal, secrets: Object.keys(ctx).sort() };
});
export const target = dag({ id: 'target' });
target.task('t', () => 'ok');
export default d;
`;

const SPIN_DAG = (beacon: string) => `
import { appendFileSync } from 'node:fs';
import { dag } from 'airclutch';
const d = dag({ id: 'spin' });
d.task('busy', { timeoutMs: 1500 }, () => { for (;;) {} });
d.task('deaf', { timeoutMs: 1500 }, () => {
  setInterval(() => appendFileSync(${JSON.stringify(beacon)}, 'x'), 5);
  return new Promise(() => {});
});
d.task('quick', async () => { await new Promise((r) => setTimeout(r, 50)); return 'on time'; });
export default d;
export const after = dag({ id: 'after' });
after.task('fine', () => 'a fresh thread');
// Two tasks at once: each warm thread loads this module.
after.task('also', async () => { await new Promise((r) => setTimeout(r, 200)); return 'warm'; });
export const bad = dag({ id: 'bad' });
bad.task('big', () => 10n);
`;

describe.each(DIALECTS)('function tasks in task threads on %s', { timeout: 120_000 }, (dialect) => {
  let h: Harness | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await h?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    h = undefined;
    dir = undefined;
  });

  it('gives task code its params, tries, upstream outputs, logs and gated triggers across the thread boundary', async () => {
    const loaded = await loadDags({ 'ctx.ts': CTX_DAG });
    dir = loaded.dir;
    h = await startHarness(dialect, loaded.dags);
    const { runId, state } = await h.runAndWait('ctx_dag', {});
    if (state !== 'success') console.log(await h.tasks(runId), await h.attempts(runId));
    expect(state).toBe('success');
    const tasks = await h.tasks(runId);
    const a = tasks.a!.output as { threadId: number; n: unknown; tries: number[]; run: string };
    expect(a.threadId).toBeGreaterThan(0);
    expect(a.tries).toEqual([2, 2]);
    expect(a.run).toBe(runId);
    const c = tasks.c!.output as {
      started: { runId: string; outcome: string };
      refused: string;
      aborted: boolean;
      signal: boolean;
      secrets: string[];
    };
    expect(c.refused).toBe('TASK_NOT_FOUND');
    // The signal is made when read (ThreadTaskContext): a getter, so not among the own keys.
    expect([c.signal, c.aborted]).toEqual([true, false]);
    expect(c.secrets).toEqual([
      'attemptId',
      'dagId',
      'env',
      'idempotencyKey',
      'log',
      'logicalDate',
      'maxTries',
      'params',
      'runId',
      'taskId',
      'trigger',
      'tryNumber',
      'upstream',
    ]);
    const child = await h.db.kysely
      .selectFrom('runs')
      .selectAll()
      .where('id', '=', c.started.runId)
      .executeTakeFirstOrThrow();
    expect([child.dag_id, child.source, child.requested_by]).toEqual(['target', 'dag', 'dag:dev/ctx_dag']);
    expect(JSON.parse(child.params)).toEqual({});
    expect(await h.logs(runId, 'c')).toEqual(['upstream says { a: 41, b: 42 }']);
    // The failed first try logged its stack, pointing at the DAG file's own line.
    const [failed, ...rest] = await h.logs(runId, 'a');
    expect(rest).toEqual([]);
    expect(failed).toMatch(/^task failed: Error: first try fails\n\s+at /);
    expect(failed).toContain(`${join(dir, 'ctx.ts')}:6:`);
  });

  it('stops a busy loop and a task deaf to its signal at their timeouts, while other tasks and HTTP answer on time', async () => {
    const beacon = join(mkdtempSync(join(tmpdir(), 'airclutch-beacon-')), 'beacon');
    const loaded = await loadDags({ 'spin.ts': SPIN_DAG(beacon) });
    dir = loaded.dir;
    const runner = new ThreadTaskRunner({ killGraceMs: 200, stallMs: 250 });
    h = await startHarness(dialect, loaded.dags, { runners: { function: runner } });
    const server = createServer((_req, res) => res.end('pong'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      // Threads started from TypeScript sources (tsx) take seconds to start and to load a DAG
      // module: warm both before the timeouts start counting.
      expect((await h.runAndWait('after')).state).toBe('success');
      await eventually(
        () => runner.threads,
        (n) => n === 2,
      );
      const runId = await h.run('spin');
      // The busy loop holds its thread now: the engine's own loop still serves HTTP at once.
      await eventually(
        () => h!.attempts(runId, 'busy'),
        (a) => a.length === 1,
      );
      const { port } = server.address() as { port: number };
      const t0 = performance.now();
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('pong');
      const httpMs = performance.now() - t0;
      expect(await h.engine.waitForRun(runId)).toBe('failed');
      const tasks = await h.tasks(runId);
      expect(tasks.quick).toMatchObject({ state: 'success', output: 'on time' });
      expect(tasks.busy!.error).toBe('the attempt did not finish within its 1500 ms timeout');
      expect(tasks.deaf!.error).toBe('the attempt did not finish within its 1500 ms timeout');
      const [quick] = await h.attempts(runId, 'quick');
      const [busy] = await h.attempts(runId, 'busy');
      expect(quick!.ended_at!).toBeLessThan(busy!.ended_at!);
      expect(httpMs).toBeLessThan(1_000);
      // Both threads are terminated after the kill grace: the deaf task's timer stops writing. The
      // pool may have spawned a thread beside the stalled ones, so a count of two does not say the
      // deaf one has exited yet: wait until the beacon has not grown for 40 of its 5 ms ticks.
      const size = () => (existsSync(beacon) ? statSync(beacon).size : 0);
      const stopped = await eventually(
        async () => {
          const before = size();
          await new Promise((r) => setTimeout(r, 200));
          return runner.threads <= 2 && before > 0 && size() === before ? before : 0;
        },
        (s) => s > 0,
      );
      const again = await h.runAndWait('after');
      expect(again.state).toBe('success');
      expect((await h.tasks(again.runId)).fine!.output).toBe('a fresh thread');
      expect(readFileSync(beacon).length).toBe(stopped);
    } finally {
      server.close();
      rmSync(join(beacon, '..'), { recursive: true, force: true });
    }
  });

  it('kills a shell task’s whole process group at its timeout, the children it started included', async () => {
    dir = mkdtempSync(join(tmpdir(), 'airclutch-shell-group-'));
    const pidFile = join(dir, 'child.pid');
    const d = dag({ id: 'group' });
    d.shell('parent', { command: `sleep 60 & echo $! > ${pidFile}; wait`, timeoutMs: 500 });
    h = await startHarness(dialect, [d]);
    const { runId, state } = await h.runAndWait('group');
    expect(state).toBe('failed');
    expect((await h.tasks(runId)).parent!.error).toBe('the attempt did not finish within its 500 ms timeout');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(pid).toBeGreaterThan(0);
    // Gone, or a zombie waiting to be reaped by init: either way no longer running.
    const alive = () => {
      try {
        return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
      } catch {
        return false;
      }
    };
    expect(await eventually(alive, (a) => a === false)).toBe(false);
  });

  it('fails an output that cannot be stored as JSON with invalid_output', async () => {
    const loaded = await loadDags({ 'spin.ts': SPIN_DAG('/dev/null') });
    dir = loaded.dir;
    h = await startHarness(dialect, loaded.dags);
    const { runId, state } = await h.runAndWait('bad');
    expect(state).toBe('failed');
    expect((await h.tasks(runId)).big!.error).toBe(
      "the task's return value cannot be stored as JSON: Do not know how to serialize a BigInt",
    );
  });
});
