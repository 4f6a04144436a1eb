/**
 * What running function tasks in task threads costs, without the store: the per-task overhead of a
 * no-op attempt through `ThreadTaskRunner` (structured clone in, the result back, the thread's
 * bookkeeping) against `FunctionTaskRunner` on the engine's own loop, one at a time and 64 at once,
 * and the memory one more task thread costs once it has loaded a DAG module.
 *
 * `node bin/run-ts.js bench/task-threads.ts [--json]`
 * @module
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDagFolder } from '../src/dag/load-dag-folder.ts';
import type { TaskDefinition } from '../src/dag/types.ts';
import { AttemptAbortController } from '../src/engine/attempt-abort-controller.ts';
import { FunctionTaskRunner } from '../src/engine/function-task-runner.ts';
import type { AttemptWork, TaskRunner } from '../src/engine/task-runner.ts';
import { ThreadTaskRunner } from '../src/engine/thread-task-runner.ts';
import { runIfMain } from './main.ts';
import { median, round } from './stats.ts';

function work(task: TaskDefinition, i: number): AttemptWork {
  const abort = new AttemptAbortController();
  return {
    attemptId: i,
    runId: `run-${i}`,
    env: 'dev',
    dagId: 'noop',
    taskId: 't',
    tryNumber: 1,
    maxTries: 1,
    params: { n: i },
    logicalDate: null,
    task,
    abort,
    upstream: () => null,
    upstreamOutputs: () => new Map(),
    log: () => {},
    trigger: async () => ({ runId: null, outcome: 'none' }),
  };
}

/** µs per attempt: `n` attempts, `parallel` at a time. */
async function perTask(
  runner: TaskRunner,
  task: TaskDefinition,
  n: number,
  parallel: number,
): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < n) {
        const r = await runner.run(work(task, next++));
        if (r.state !== 'success') throw new Error(`bench attempt failed: ${JSON.stringify(r)}`);
      }
    }),
  );
  return ((performance.now() - t0) * 1000) / n;
}

export async function benchTaskThreads(): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'airclutch-bench-threads-'));
  writeFileSync(
    join(dir, 'noop.ts'),
    "import { dag } from 'airclutch';\nconst d = dag({ id: 'noop' });\nd.task('t', (ctx) => ctx.params.n);\nexport default d;\n",
  );
  const { dags } = await loadDagFolder(dir, { env: 'dev', cacheDir: join(dir, '.cache') });
  const task = dags[0]!.dag.tasks.get('t')!;
  const inProcess = new FunctionTaskRunner();
  const threads = new ThreadTaskRunner({ min: 1, max: 1 });
  try {
    const gcRss = () => {
      (globalThis as { gc?: () => void }).gc?.();
      return process.memoryUsage().rss;
    };
    const rss0 = gcRss();
    await perTask(threads, task, 200, 1); // one thread, started and warm
    const rss1 = gcRss();
    const two = new ThreadTaskRunner({ min: 3, max: 3 });
    two.warm();
    await perTask(two, task, 300, 3);
    const rss3 = gcRss();
    await two.close();
    const figures: Record<string, number[]> = { seq: [], par: [], seqIn: [], parIn: [] };
    for (let i = 0; i < 5; i++) {
      figures.seq!.push(await perTask(threads, task, 2_000, 1));
      figures.par!.push(await perTask(threads, task, 10_000, 64));
      figures.seqIn!.push(await perTask(inProcess, task, 2_000, 1));
      figures.parIn!.push(await perTask(inProcess, task, 10_000, 64));
    }
    return {
      thread_task_us_seq: round(median(figures.seq!), 1),
      thread_task_us_par64: round(median(figures.par!), 1),
      inprocess_task_us_seq: round(median(figures.seqIn!), 1),
      inprocess_task_us_par64: round(median(figures.parIn!), 1),
      first_thread_rss_mb: round((rss1 - rss0) / 1024 / 1024, 1),
      extra_thread_rss_mb: round((rss3 - rss1) / 3 / 1024 / 1024, 1),
    };
  } finally {
    await threads.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await runIfMain(import.meta, () => benchTaskThreads());
