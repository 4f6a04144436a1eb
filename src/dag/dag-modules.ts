/**
 * Which bundled module each loaded DAG came from, so that a task thread can import the same code
 * and find the same task function. DAGs built in memory (embedding, tests) have no module: their
 * function tasks run in the engine's own thread.
 * @module
 */
import type { Dag } from './dag.ts';
import type { TaskDefinition } from './types.ts';

/** Where a task's code can be loaded again: the bundle's file URL and the DAG that holds the task. */
export interface TaskModule {
  /** `file:` URL of the bundled DAG file, named by its content version (never rewritten). */
  readonly url: string;
  readonly dag: Dag<any>;
}

const byTask = new WeakMap<TaskDefinition, TaskModule>();

/** Records that `dag`'s tasks come from the bundle at `url` (the DAG loader calls this). */
export function recordDagModule(dag: Dag<any>, url: string): void {
  for (const task of dag.tasks.values()) byTask.set(task, { url, dag });
}

/**
 * The module a task definition was loaded from, or undefined for a DAG built in memory.
 * @example
 * const m = taskModule(work.task); // { url: 'file:///…/dags/cache/ab12cd34-0f1e….mjs', dag }
 */
export function taskModule(task: TaskDefinition): TaskModule | undefined {
  return byTask.get(task);
}
