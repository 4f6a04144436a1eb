/** The retry rule: what a task instance becomes when an attempt fails, and when it runs again. @module */
import type { TaskDefinition } from '../dag/types.ts';
import { retryDelay } from './retry-delay.ts';
import type { FailureReason } from './task-runner.ts';

/**
 * A failed attempt is retried while tries remain, after the task's backoff. An attempt stopped by
 * shutdown retries at once; a cancelled one is not retried. `task` is undefined when the DAG no
 * longer has the task: then it retries at once if it may, so the run can settle.
 * @example
 * afterFailure(task, 1, 3, 'error', now); // { state: 'up_for_retry', retryAt: now + 1000 }
 */
export function afterFailure(
  task: TaskDefinition | undefined,
  tryNumber: number,
  maxTries: number,
  reason: FailureReason,
  now: number,
): { state: 'up_for_retry' | 'failed' | 'cancelled'; retryAt: number | null } {
  if (reason === 'cancelled') return { state: 'cancelled', retryAt: null };
  if (tryNumber >= maxTries) return { state: 'failed', retryAt: null };
  const delay = reason === 'shutdown' || !task ? 0 : retryDelay(task, tryNumber);
  return { state: 'up_for_retry', retryAt: now + delay };
}
