/**
 * Runs function tasks off the engine's event loop, in a pool of worker threads that import the
 * DAG's bundled module (once per thread and version). A task that blocks its thread (a busy loop)
 * stalls neither the engine, its heartbeats and HTTP API, nor other tasks; a task that ignores its
 * abort signal is stopped for real (`worker.terminate()`) after a grace period, and its thread is
 * replaced. `ctx` works across the boundary: params, upstream outputs and run facts are copied in;
 * `log()` and `trigger()` are messages the engine's thread carries out (the trigger goes through
 * the gate as the DAG's service principal, as before). DAGs built in memory have no module a thread
 * could load: their tasks run in-process (`FunctionTaskRunner`). See docs/scale-out.md, "Isolation".
 * @module
 */
import type { Dag } from '../dag/dag.ts';
import { taskModule } from '../dag/dag-modules.ts';
import { FunctionTaskRunner } from './function-task-runner.ts';
import {
  type AttemptResult,
  type AttemptWork,
  abortFailure,
  plainContext,
  type TaskRunner,
} from './task-runner.ts';
import { TaskThreadPool, type TaskThreadPoolOptions, type ThreadAttempt } from './task-thread-pool.ts';
import type { ThreadResult } from './task-thread-protocol.ts';

export interface ThreadTaskRunnerOptions extends TaskThreadPoolOptions {
  /** How long a task may ignore its abort signal before its thread is terminated (default 2 s). */
  killGraceMs?: number;
}

export class ThreadTaskRunner implements TaskRunner {
  readonly #pool: TaskThreadPool;
  readonly #inProcess = new FunctionTaskRunner();
  readonly #killGraceMs: number;

  constructor(options: ThreadTaskRunnerOptions = {}) {
    this.#pool = new TaskThreadPool(options);
    this.#killGraceMs = options.killGraceMs ?? 2_000;
  }

  /** Threads alive now. */
  get threads(): number {
    return this.#pool.size;
  }

  run(work: AttemptWork): Promise<AttemptResult> {
    const mod = taskModule(work.task);
    if (!mod) return this.#inProcess.run(work);
    if (work.abort.aborted) return Promise.resolve(abortFailure(work.abort));
    return new Promise<AttemptResult>((resolve) => {
      let killTimer: NodeJS.Timeout | undefined;
      let stopListening = () => {};
      const attempt: ThreadAttempt = {
        message: {
          t: 'run',
          url: mod.url,
          dagId: work.dagId,
          taskId: work.taskId,
          facts: plainContext(work),
          upstream: work.upstreamOutputs(),
        },
        gaveUp: false,
        settle: (r) => {
          stopListening();
          resolve(fromThread(r));
        },
        onLog: (line) => work.log('log', line),
        onTrigger: (dagId, params) => work.trigger(dagId, params),
      };
      // As in-process: the attempt ends at once with the abort's reason. The code gets the abort
      // in its thread, and the grace to honour it; then its thread is stopped.
      const onAbort = () => {
        const r = abortFailure(work.abort);
        attempt.gaveUp = true;
        resolve(r);
        if (r.state === 'failed') this.#pool.abort(attempt, r.reason, r.error);
        killTimer = setTimeout(() => {
          if (!this.#pool.holds(attempt)) return;
          this.#pool.condemn(
            attempt,
            `its task thread was stopped because ${work.dagId}/${work.taskId} (try ${work.tryNumber}) ignored its abort signal for ${this.#killGraceMs} ms`,
          );
        }, this.#killGraceMs);
        killTimer.unref();
      };
      stopListening = work.abort.onAbort(onAbort);
      this.#pool.dispatch(attempt);
    });
  }

  /** Starts the pool's threads ahead of the first attempt (the engine does when it has DAG files). */
  warm(): void {
    this.#pool.warm();
  }

  /** Stops every thread (the engine calls this once its attempts are done or aborted). */
  close(): Promise<void> {
    return this.#pool.close();
  }
}

/** True when the DAG was loaded from a file, so its function tasks run in task threads. */
export function hasTaskModule(dag: Dag<any>): boolean {
  for (const task of dag.tasks.values()) return taskModule(task) !== undefined;
  return false;
}

function fromThread(r: ThreadResult): AttemptResult {
  return r.state === 'success'
    ? { state: 'success', output: JSON.parse(r.outputJson), outputJson: r.outputJson }
    : r;
}
