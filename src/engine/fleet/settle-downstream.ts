/**
 * What a finished task makes ready, read from the store: only the task's downstream tasks and their
 * upstreams are loaded (then, if some of those settle without running, theirs), never the whole run.
 * The caller holds the run row's lock, so two completions of one run never decide on stale states.
 * @module
 */
import type { Dag } from '../../dag/dag.ts';
import { getOrCreate } from '../../lib/get-or-create.ts';
import type { TaskTransition } from '../run-tracker.ts';
import type { Queryable } from '../sql/executor-db.ts';
import { isFinalTaskState, type TaskState } from '../states.ts';
import { evaluateTriggerRule } from '../trigger-rules.ts';

const downstreamByDag = new WeakMap<Dag<any>, Map<string, string[]>>();

/** Each task's direct downstream tasks, computed once per DAG object. */
export function downstreamOf(dag: Dag<any>, taskId: string): readonly string[] {
  let map = downstreamByDag.get(dag);
  if (!map) {
    map = new Map();
    for (const t of dag.tasks.values())
      for (const up of t.after) getOrCreate(map, up, () => [] as string[]).push(t.id);
    downstreamByDag.set(dag, map);
  }
  return map.get(taskId) ?? [];
}

/**
 * Settles the pending tasks downstream of `finished` (whose new states `known` already holds).
 * Returns the transitions, in order; the caller writes them.
 */
export async function settleDownstream(
  q: Queryable,
  runId: string,
  dag: Dag<any>,
  finished: readonly string[],
  known: Map<string, TaskState>,
): Promise<TaskTransition[]> {
  const out: TaskTransition[] = [];
  let frontier = [...new Set(finished.flatMap((t) => downstreamOf(dag, t)))];
  while (frontier.length) {
    const need = new Set<string>();
    for (const d of frontier) {
      need.add(d);
      for (const u of dag.tasks.get(d)?.after ?? []) need.add(u);
    }
    const missing = [...need].filter((id) => !known.has(id));
    if (missing.length) {
      const rows = await q
        .selectFrom('task_instances')
        .select(['task_id', 'state'])
        .where('run_id', '=', runId)
        .where('task_id', 'in', missing)
        .execute();
      for (const r of rows) known.set(r.task_id, r.state);
    }
    const next: string[] = [];
    for (const d of frontier) {
      if (known.get(d) !== 'pending') continue;
      const task = dag.tasks.get(d);
      const ups = (task?.after ?? []).filter((u) => known.has(u)).map((u) => known.get(u)!);
      const verdict = evaluateTriggerRule(task?.triggerRule ?? 'all_success', ups);
      if (verdict === 'wait') continue;
      const to: TaskState = verdict === 'run' ? 'queued' : verdict;
      known.set(d, to);
      out.push({ taskId: d, from: 'pending', to });
      if (isFinalTaskState(to)) next.push(...downstreamOf(dag, d));
    }
    frontier = [...new Set(next)];
  }
  return out;
}
