/**
 * Runs function tasks on the engine's own event loop: for DAGs built in memory (embedding, tests),
 * which have no module a task thread could load. A task that ignores its AbortSignal is abandoned
 * when the signal fires (its result is discarded): JavaScript cannot stop a promise from outside.
 * DAGs loaded from files run in task threads instead (`ThreadTaskRunner`), where it can be stopped.
 * @module
 */
import { describeThrown } from '../lib/errors.ts';
import {
  type AttemptResult,
  type AttemptWork,
  abortFailure,
  type TaskRunner,
  taskContext,
} from './task-runner.ts';

export class FunctionTaskRunner implements TaskRunner {
  async run(work: AttemptWork): Promise<AttemptResult> {
    const fn = work.task.fn;
    if (!fn) return { state: 'failed', reason: 'error', error: `task ${work.taskId} has no function` };
    const ctx = taskContext(work);
    if (work.abort.aborted) return abortFailure(work.abort);
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<AttemptResult>((resolve) => {
      onAbort = () => resolve(abortFailure(work.abort));
      work.abort.signal.addEventListener('abort', onAbort, { once: true });
    });
    const ran = (async (): Promise<AttemptResult> => {
      try {
        const value = await fn(ctx as never);
        return toOutput(value);
      } catch (e) {
        if (work.abort.aborted) return abortFailure(work.abort);
        work.log('log', failureLogLine(e));
        return { state: 'failed', reason: 'error', error: describeThrown(e) };
      }
    })();
    try {
      return await Promise.race([ran, aborted]);
    } finally {
      work.abort.signal.removeEventListener('abort', onAbort!);
    }
  }
}

/** Outputs are stored as JSON: anything JSON cannot carry fails the attempt with a clear reason. */
export function toOutput(value: unknown): AttemptResult {
  try {
    const text = JSON.stringify(value) ?? 'null';
    return { state: 'success', output: JSON.parse(text), outputJson: text };
  } catch (e) {
    return {
      state: 'failed',
      reason: 'invalid_output',
      error: `the task's return value cannot be stored as JSON: ${(e as Error).message}`,
    };
  }
}

/** The log line of a task that threw: its stack (the message and where), or what it threw. */
export function failureLogLine(e: unknown): string {
  return `task failed: ${e instanceof Error && e.stack ? e.stack : describeThrown(e)}`;
}
