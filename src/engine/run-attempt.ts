/**
 * Runs one claimed attempt: builds what the task sees (params, upstream outputs, log, trigger),
 * arms its timeout, and resolves with how it ended. Nothing here touches the store.
 * @module
 */
import { servicePrincipal } from '../identity/principal.ts';
import { AirclutchError } from '../lib/errors.ts';
import { AttemptAbortController } from './attempt-abort-controller.ts';
import type { RunSubmitter } from './engine-types.ts';
import type { RunTracker } from './run-tracker.ts';
import { AttemptAbort, type AttemptResult, type AttemptWork, type TaskRunner } from './task-runner.ts';

export interface AttemptSpec {
  readonly tracker: RunTracker;
  readonly taskId: string;
  readonly tryNumber: number;
  readonly attemptId: number;
}

export interface RunAttemptDeps {
  readonly runners: { readonly function: TaskRunner; readonly shell: TaskRunner };
  readonly submitter: () => RunSubmitter;
  readonly log: (stream: 'log' | 'stdout' | 'stderr', line: string) => void;
}

/** Starts the attempt; abort the controller to cancel it. The promise never rejects. */
export function runAttempt(
  spec: AttemptSpec,
  deps: RunAttemptDeps,
): { controller: AttemptAbortController; done: Promise<AttemptResult> } {
  const { tracker, taskId, tryNumber, attemptId } = spec;
  const task = tracker.task(taskId)!;
  const controller = new AttemptAbortController();
  const timer =
    task.timeoutMs === undefined
      ? undefined
      : setTimeout(
          () =>
            controller.abort(
              new AttemptAbort(
                'timeout',
                `the attempt did not finish within its ${task.timeoutMs} ms timeout`,
              ),
            ),
          task.timeoutMs,
        );
  const { runId, env, dagId } = tracker.info;
  // Walked once per attempt, when first needed: reads of upstream outputs are O(1) after it.
  let upstreamIds: Set<string> | undefined;
  const ancestors = () => {
    upstreamIds ??= tracker.ancestors(taskId);
    return upstreamIds;
  };
  const work: AttemptWork = {
    attemptId,
    runId,
    env,
    dagId,
    taskId,
    tryNumber,
    maxTries: task.retries + 1,
    params: tracker.info.params,
    logicalDate: tracker.info.logicalDate,
    task,
    abort: controller,
    upstream: (id) => {
      if (!ancestors().has(id)) {
        throw new AirclutchError(
          'TASK_NOT_FOUND',
          `task ${taskId} can only read outputs of tasks upstream of it, and ${id} is not: add it to \`after\``,
        );
      }
      return tracker.outputs.get(id) ?? null;
    },
    upstreamOutputs: () => {
      const out = new Map<string, unknown>();
      for (const id of ancestors()) out.set(id, tracker.outputs.get(id) ?? null);
      return out;
    },
    log: deps.log,
    // A DAG starts another DAG as its own service principal, through the submitter (the gate).
    trigger: (targetDagId, params) =>
      deps.submitter().submit({
        env,
        dagId: targetDagId,
        params,
        source: 'dag',
        principal: servicePrincipal(`dag:${env}/${dagId}`),
        note: `triggered by ${dagId}/${taskId} in run ${runId}`,
      }),
  };
  const runner = task.kind === 'shell' ? deps.runners.shell : deps.runners.function;
  const done = runner
    .run(work)
    .catch(
      (e): AttemptResult => ({
        state: 'failed',
        reason: 'error',
        error: `runner failed: ${(e as Error).message}`,
      }),
    )
    .finally(() => clearTimeout(timer));
  return { controller, done };
}
