/** The task rows a run starts with, the same in process and in a fleet worker. @module */
import { RunTracker } from './run-tracker.ts';
import type { TaskState } from './states.ts';

/**
 * Every task of `dag` pending, then settled: tasks without upstreams become queued (or are settled
 * by their trigger rule). `tasks` are the rows `startRun` inserts; `initial` the settled transitions.
 */
export function initialTasks(row: Parameters<typeof RunTracker.fromRows>[0], dag: RunTracker['dag']) {
  const pending = [...dag.tasks.keys()].map((id) => ({
    task_id: id,
    state: 'pending' as const,
    try_number: 0,
    output: null,
  }));
  const tracker = RunTracker.fromRows(row, dag, pending);
  const initial = tracker.settleAll();
  const stateOf = new Map(initial.map((t) => [t.taskId, t.to]));
  const tasks = [...dag.tasks.values()].map((t) => ({
    taskId: t.id,
    state: stateOf.get(t.id) ?? ('pending' as TaskState),
    maxTries: t.retries + 1,
    queue: t.queue,
  }));
  return { tracker, initial, tasks };
}
