import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dag } from '../../src/dag/dag.ts';
import type { TriggerRule } from '../../src/dag/types.ts';
import { initialTasks } from '../../src/engine/initial-tasks.ts';
import type { RunTracker } from '../../src/engine/run-tracker.ts';
import { isFinalTaskState, type TaskState } from '../../src/engine/states.ts';

const RULES: TriggerRule[] = ['all_success', 'all_done', 'one_failed', 'none_failed'];
const RUN = { id: 'r', env: 'dev', dag_id: 'd', dag_version: 'v1', params: '{}', logical_date: null };

/** Airflow's trigger rules, read from the list of upstream states. */
function byTheBook(rule: TriggerRule, ups: TaskState[]): 'wait' | 'run' | 'upstream_failed' | 'skipped' {
  if (ups.length === 0) return 'run';
  const done = ups.every(isFinalTaskState);
  const failed = ups.some((s) => s === 'failed' || s === 'upstream_failed');
  if (rule === 'all_done') return done ? 'run' : 'wait';
  if (rule === 'one_failed') return failed ? 'run' : done ? 'skipped' : 'wait';
  if (failed) return 'upstream_failed';
  if (rule === 'none_failed') return done ? 'run' : 'wait';
  if (ups.some((s) => s === 'skipped' || s === 'cancelled')) return 'skipped';
  return ups.every((s) => s === 'success') ? 'run' : 'wait';
}

/** Every pending task judged from all its upstream states, to the fixpoint: what the tally must match. */
function settleByHand(tracker: RunTracker, states: Map<string, TaskState>): void {
  for (let changed = true; changed; ) {
    changed = false;
    for (const [id, s] of states) {
      if (s !== 'pending') continue;
      const task = tracker.dag.tasks.get(id)!;
      const verdict = byTheBook(
        task.triggerRule,
        task.after.map((u) => states.get(u)!),
      );
      if (verdict === 'wait') continue;
      states.set(id, verdict === 'run' ? 'queued' : verdict);
      changed = true;
    }
  }
}

describe('RunTracker', () => {
  it('settles downstream tasks as a full reading of their upstream states would, whatever the DAG and outcomes', () => {
    const graph = fc.array(
      fc.record({ ups: fc.array(fc.nat(), { maxLength: 4 }), rule: fc.constantFrom(...RULES) }),
      { minLength: 1, maxLength: 14 },
    );
    fc.assert(
      fc.property(
        graph,
        fc.array(fc.constantFrom<TaskState>('success', 'failed', 'skipped', 'cancelled')),
        (spec, outcomes) => {
          const d = dag({ id: 'd' });
          // Each task's upstream tasks are among those before it, so the graph has no cycle.
          for (const [i, t] of spec.entries()) {
            const after = i === 0 ? [] : [...new Set(t.ups.map((u) => `t${u % i}`))];
            d.task(`t${i}`, { after, triggerRule: t.rule }, () => i);
          }
          // As a run starts: every task pending, then those that can be decided settled.
          const { tracker, initial } = initialTasks(RUN, d);
          const expected = new Map(spec.map((_, i) => [`t${i}`, 'pending' as TaskState]));
          for (const t of initial) expect(t.from).toBe('pending');
          settleByHand(tracker, expected);
          expect(tracker.states).toEqual(expected);
          // End queued tasks one at a time with the next outcome, until the run is over.
          for (let step = 0; !tracker.isComplete; step++) {
            const next = [...tracker.states].find(([, s]) => s === 'queued');
            expect(next).toBeDefined();
            const outcome = outcomes[step % Math.max(1, outcomes.length)] ?? 'success';
            tracker.transition(next![0], outcome);
            expected.set(next![0], outcome);
            settleByHand(tracker, expected);
            expect(tracker.states).toEqual(expected);
          }
          for (const s of tracker.states.values()) expect(isFinalTaskState(s)).toBe(true);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('runs a task after 10,000 others once they have all succeeded, and fails it at the first failure', () => {
    const d = dag({ id: 'join' });
    const all = Array.from({ length: 10_000 }, (_, i) => d.task(`t${i}`, () => i));
    d.task('join', { after: all }, () => 'joined');
    const { tracker: ok, initial } = initialTasks(RUN, d);
    expect(initial).toHaveLength(10_000);
    for (let i = 0; i < 9_999; i++) expect(ok.transition(`t${i}`, 'success')).toHaveLength(1);
    expect(ok.transition('t9999', 'success').map((t) => [t.taskId, t.to])).toEqual([
      ['t9999', 'success'],
      ['join', 'queued'],
    ]);
    const { tracker: bad } = initialTasks(RUN, d);
    bad.transition('t0', 'success');
    expect(bad.transition('t1', 'failed').map((t) => [t.taskId, t.to])).toEqual([
      ['t1', 'failed'],
      ['join', 'upstream_failed'],
    ]);
  });
});
