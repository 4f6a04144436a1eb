/** The delay before a task's next try: exponential (or fixed) backoff from `retryDelayMs`, capped. @module */
import type { TaskDefinition } from '../dag/types.ts';

/**
 * `tryNumber` is the attempt that just failed (1 for the first).
 * @example
 * retryDelay({ retryDelayMs: 1000, maxRetryDelayMs: 60_000, retryBackoff: 'exponential' }, 3); // 4000
 */
export function retryDelay(
  task: Pick<TaskDefinition, 'retryDelayMs' | 'maxRetryDelayMs' | 'retryBackoff'>,
  tryNumber: number,
): number {
  const base = Math.max(0, task.retryDelayMs);
  const delay = task.retryBackoff === 'fixed' ? base : base * 2 ** Math.max(0, tryNumber - 1);
  return Math.min(delay, Math.max(0, task.maxRetryDelayMs));
}
