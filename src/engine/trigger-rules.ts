/** Trigger rules: whether a task may start, given how its upstream tasks stand (Airflow's semantics). @module */
import type { TriggerRule } from '../dag/types.ts';
import { isFinalTaskState, type TaskState } from './states.ts';

/** What to do with a pending task: keep waiting, start it, or settle it without running. */
export type RuleVerdict = 'wait' | 'run' | 'upstream_failed' | 'skipped';

const isFailed = (s: TaskState) => s === 'failed' || s === 'upstream_failed';

/**
 * @example
 * evaluateTriggerRule('all_success', ['success', 'running']); // 'wait'
 * evaluateTriggerRule('one_failed', ['failed', 'running']);   // 'run'
 */
export function evaluateTriggerRule(rule: TriggerRule, upstream: readonly TaskState[]): RuleVerdict {
  if (upstream.length === 0) return 'run';
  const allDone = upstream.every(isFinalTaskState);
  const anyFailed = upstream.some(isFailed);
  switch (rule) {
    case 'all_success':
      if (anyFailed) return 'upstream_failed';
      if (upstream.some((s) => s === 'skipped' || s === 'cancelled')) return 'skipped';
      return upstream.every((s) => s === 'success') ? 'run' : 'wait';
    case 'all_done':
      return allDone ? 'run' : 'wait';
    case 'one_failed':
      if (anyFailed) return 'run';
      return allDone ? 'skipped' : 'wait';
    case 'none_failed':
      if (anyFailed) return 'upstream_failed';
      return allDone ? 'run' : 'wait';
    default: {
      const never: never = rule;
      throw new TypeError(`unknown trigger rule ${String(never)}`);
    }
  }
}
