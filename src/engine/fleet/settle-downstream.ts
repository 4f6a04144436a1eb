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
  let frontier = await stillWaiting(
    q,
    runId,
    dag,
    [...new Set(finished.flatMap((t) => downstreamOf(dag, t)))],
    known,
  );
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
      if (verdict === 'wait') {
        rememberOpen(runId, d, task?.after ?? [], known);
        continue;
      }
      witnesses.delete(`${runId}\u0000${d}`);
      const to: TaskState = verdict === 'run' ? 'queued' : verdict;
      known.set(d, to);
      out.push({ taskId: d, from: 'pending', to });
      if (isFinalTaskState(to)) next.push(...downstreamOf(dag, d));
    }
    frontier = [...new Set(next)];
  }
  return out;
}

/**
 * Per run and waiting task (`runId\0taskId`), an upstream task last seen open. A task after
 * 10,000 others would otherwise have all their states read at every completion among them; this
 * is only a shortcut (a worker that lacks it reads them), bounded in size.
 */
const witnesses = new Map<string, string>();
const MAX_WITNESSES = 10_000;

function rememberOpen(
  runId: string,
  taskId: string,
  after: readonly string[],
  known: Map<string, TaskState>,
) {
  // The last upstream task in the DAG's order: with tasks started in that order, it ends last.
  for (let i = after.length - 1; i >= 0; i--) {
    const s = known.get(after[i]!);
    if (s === undefined || isFinalTaskState(s)) continue;
    if (witnesses.size >= MAX_WITNESSES) witnesses.clear();
    witnesses.set(`${runId}\u0000${taskId}`, after[i]!);
    return;
  }
}

/**
 * Leaves out of `candidates` the tasks that cannot be decided by this completion: those whose
 * upstream tasks ended here all succeeded, while an upstream task seen open before is open still.
 * Sound because the caller holds the run's lock and every end of an upstream task is followed by
 * this settling, in its transaction: the task was judged `wait` after each earlier change, and for
 * every trigger rule a `wait` stays a `wait` while only successes are added and one task is open.
 */
async function stillWaiting(
  q: Queryable,
  runId: string,
  dag: Dag<any>,
  candidates: string[],
  known: Map<string, TaskState>,
): Promise<string[]> {
  // Tasks after one that ended here without success may be decided now: they are judged in full.
  const decisive = new Set<string>();
  for (const [u, s] of known)
    if (s !== 'success' && isFinalTaskState(s)) for (const d of downstreamOf(dag, u)) decisive.add(d);
  const check = new Map<string, string>();
  for (const d of candidates) {
    const w = witnesses.get(`${runId}\u0000${d}`);
    if (w !== undefined && !known.has(w) && !decisive.has(d)) check.set(d, w);
  }
  if (!check.size) return candidates;
  const rows = await q
    .selectFrom('task_instances')
    .select(['task_id', 'state'])
    .where('run_id', '=', runId)
    .where('task_id', 'in', [...new Set(check.values())])
    .execute();
  const open = new Set(rows.filter((r) => !isFinalTaskState(r.state)).map((r) => r.task_id));
  return candidates.filter((d) => !(check.has(d) && open.has(check.get(d)!)));
}
