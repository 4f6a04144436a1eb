/** Trigger rules: whether a task may start, given how its upstream tasks stand (Airflow's semantics). @module */
import type { TriggerRule } from '../dag/types.ts';
import type { TaskState } from './states.ts';

/** What to do with a pending task: keep waiting, start it, or settle it without running. */
export type RuleVerdict = 'wait' | 'run' | 'upstream_failed' | 'skipped';

const isFailed = (s: TaskState) => s === 'failed' || s === 'upstream_failed';

/** How a task's upstream tasks stand, by kind of state: all a trigger rule needs. */
export interface UpstreamTally {
  /** Not in a final state yet. */
  open: number;
  success: number;
  /** `failed` or `upstream_failed`. */
  failed: number;
  /** `skipped` or `cancelled`. */
  skipped: number;
}

export type TallyKind = keyof UpstreamTally;

export function tallyKind(s: TaskState): TallyKind {
  if (s === 'success') return 'success';
  if (isFailed(s)) return 'failed';
  if (s === 'skipped' || s === 'cancelled') return 'skipped';
  return 'open';
}

export function tallyOf(upstream: readonly TaskState[]): UpstreamTally {
  const t: UpstreamTally = { open: 0, success: 0, failed: 0, skipped: 0 };
  for (const s of upstream) t[tallyKind(s)]++;
  return t;
}

/**
 * @example
 * evaluateTriggerRule('all_success', ['success', 'running']); // 'wait'
 * evaluateTriggerRule('one_failed', ['failed', 'running']);   // 'run'
 */
export function evaluateTriggerRule(rule: TriggerRule, upstream: readonly TaskState[]): RuleVerdict {
  return ruleVerdict(rule, tallyOf(upstream));
}

/** The verdict from a tally kept as upstream tasks move: O(1) for a task after 10,000 others. */
export function ruleVerdict(rule: TriggerRule, t: UpstreamTally): RuleVerdict {
  if (t.open + t.success + t.failed + t.skipped === 0) return 'run';
  const allDone = t.open === 0;
  const anyFailed = t.failed > 0;
  switch (rule) {
    case 'all_success':
      if (anyFailed) return 'upstream_failed';
      if (t.skipped > 0) return 'skipped';
      return allDone ? 'run' : 'wait';
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
