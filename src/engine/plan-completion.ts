/**
 * What an ended attempt means: the attempt's and task instance's new states (success, retry after
 * backoff, failed, or cancelled when its run was), and what became ready or was settled downstream.
 * Pure: the executor writes the plan in its cycle's transaction.
 * @module
 */

import { afterFailure } from './after-failure.ts';
import type { EngineTransition } from './engine-types.ts';
import type { RunTracker, TaskTransition } from './run-tracker.ts';
import type { AttemptCompletion } from './sql/complete-attempt.ts';
import type { TaskState } from './states.ts';
import type { AttemptResult } from './task-runner.ts';

export interface Completion {
  readonly attemptId: number;
  readonly tracker: RunTracker;
  readonly taskId: string;
  readonly tryNumber: number;
  readonly result: AttemptResult;
}

/** The plan for one ended attempt; the tracker is moved to the new states. */
export function planCompletion(c: Completion, runCancelled: boolean, now: number) {
  const { tracker, taskId, tryNumber, result } = c;
  const task = tracker.task(taskId);
  let taskState: TaskState = 'success';
  let retryAt: number | null = null;
  if (result.state === 'failed') {
    const next = afterFailure(
      task,
      tryNumber,
      task ? task.retries + 1 : tryNumber,
      runCancelled ? 'cancelled' : result.reason,
      now,
    );
    taskState = next.state;
    retryAt = next.retryAt;
  }
  const completion: AttemptCompletion = {
    attemptId: c.attemptId,
    runId: tracker.info.runId,
    taskId,
    attemptState: result.state,
    taskState,
    error: result.state === 'failed' ? result.error : null,
    exitCode: result.exitCode ?? null,
    outputJson: result.state === 'success' ? result.outputJson : null,
    nextTryAt: retryAt,
  };
  // The tracker of a cancelled run is gone; only the attempt and its task instance are written.
  const downstream = runCancelled ? [] : tracker.transition(taskId, taskState).slice(1);
  return { completion, downstream, retryAt };
}

/** Tracker transitions as engine transitions of that run. */
export function taskEvents(tracker: RunTracker, tt: readonly TaskTransition[]): EngineTransition[] {
  const { runId, env, dagId } = tracker.info;
  return tt.map((t) => ({
    kind: 'task' as const,
    runId,
    env,
    dagId,
    taskId: t.taskId,
    from: t.from,
    to: t.to,
  }));
}
