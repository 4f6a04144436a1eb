/**
 * The in-memory picture of one running run: each task's state, and which tasks become ready when
 * another ends. The store holds the truth; the tracker mirrors it so that deciding what runs next is
 * O(downstream) instead of a query over every task of the run.
 * @module
 */
import { ancestorsOf } from '../dag/ancestors-of.ts';
import type { Dag } from '../dag/dag.ts';
import type { TaskDefinition } from '../dag/types.ts';
import { getOrCreate } from '../lib/get-or-create.ts';
import type { RunsTable, TaskInstancesTable } from '../store/database.ts';
import { isFinalTaskState, type TaskState } from './states.ts';
import { ruleVerdict, tallyKind, tallyOf, type UpstreamTally } from './trigger-rules.ts';

const NO_UPSTREAM: UpstreamTally = Object.freeze({ open: 0, success: 0, failed: 0, skipped: 0 });

export interface TaskTransition {
  readonly taskId: string;
  readonly from: TaskState;
  readonly to: TaskState;
}

export interface RunInfo {
  readonly runId: string;
  readonly env: string;
  readonly dagId: string;
  readonly dagVersion: string;
  readonly params: unknown;
  readonly logicalDate: number | null;
}

export class RunTracker {
  readonly info: RunInfo;
  readonly dag: Dag<any>;
  readonly states = new Map<string, TaskState>();
  readonly tries = new Map<string, number>();
  /** Outputs of finished tasks, for `ctx.upstream()` in the tasks after them. */
  readonly outputs = new Map<string, unknown>();
  readonly #downstream = new Map<string, string[]>();
  /** How each task's upstream tasks stand, kept as they move (see `ruleVerdict`). */
  readonly #tallies = new Map<string, UpstreamTally>();
  #finalCount = 0;

  constructor(info: RunInfo, dag: Dag<any>, states: Iterable<[string, TaskState, number]>) {
    this.info = info;
    this.dag = dag;
    for (const [taskId, state, tries] of states) {
      this.states.set(taskId, state);
      this.tries.set(taskId, tries);
      if (isFinalTaskState(state)) this.#finalCount++;
    }
    for (const taskId of this.states.keys()) {
      const ups = this.upstreamOf(taskId);
      for (const up of ups) getOrCreate(this.#downstream, up, () => [] as string[]).push(taskId);
      if (ups.length) this.#tallies.set(taskId, tallyOf(ups.map((u) => this.states.get(u)!)));
    }
  }

  /** A tracker for a stored run and its task instance rows (outputs of finished tasks included). */
  static fromRows(
    run: Pick<RunsTable, 'id' | 'env' | 'dag_id' | 'dag_version' | 'params' | 'logical_date'>,
    dag: Dag<any>,
    tasks: ReadonlyArray<Pick<TaskInstancesTable, 'task_id' | 'state' | 'try_number' | 'output'>>,
  ): RunTracker {
    const tracker = new RunTracker(
      {
        runId: run.id,
        env: run.env,
        dagId: run.dag_id,
        dagVersion: run.dag_version,
        params: JSON.parse(run.params),
        logicalDate: run.logical_date,
      },
      dag,
      tasks.map((t) => [t.task_id, t.state, t.try_number] as [string, TaskState, number]),
    );
    for (const t of tasks)
      if (t.state === 'success' && t.output !== null) tracker.outputs.set(t.task_id, JSON.parse(t.output));
    return tracker;
  }

  task(taskId: string): TaskDefinition | undefined {
    return this.dag.tasks.get(taskId);
  }

  /** Upstream tasks of a task that belong to this run. */
  upstreamOf(taskId: string): string[] {
    return (this.dag.tasks.get(taskId)?.after ?? []).filter((u) => this.states.has(u));
  }

  /** The tasks of this run upstream of `taskId`, directly or through other tasks. */
  ancestors(taskId: string): Set<string> {
    return ancestorsOf(this.dag.tasks, taskId, (id) => this.states.has(id));
  }

  state(taskId: string): TaskState {
    const s = this.states.get(taskId);
    if (!s) throw new TypeError(`task ${taskId} is not part of run ${this.info.runId}`);
    return s;
  }

  /** Records a state the store already holds. */
  set(taskId: string, to: TaskState): void {
    const from = this.state(taskId);
    if (isFinalTaskState(from)) this.#finalCount--;
    if (isFinalTaskState(to)) this.#finalCount++;
    this.states.set(taskId, to);
    const was = tallyKind(from);
    const is = tallyKind(to);
    if (was === is) return;
    for (const down of this.#downstream.get(taskId) ?? []) {
      const tally = this.#tallies.get(down)!;
      tally[was]--;
      tally[is]++;
    }
  }

  /**
   * Applies `taskId → to` and settles every pending task downstream whose trigger rule can now be
   * decided. Returns all transitions, the first one included, in the order they happened.
   */
  transition(taskId: string, to: TaskState): TaskTransition[] {
    const out: TaskTransition[] = [{ taskId, from: this.state(taskId), to }];
    this.set(taskId, to);
    if (isFinalTaskState(to)) this.#settleDownstream(taskId, out);
    return out;
  }

  /** The pending tasks that can be decided now (roots at run start; anything after a recovery). */
  settleAll(): TaskTransition[] {
    const out: TaskTransition[] = [];
    for (const [taskId, state] of this.states) {
      if (state === 'pending') this.#settle(taskId, out);
    }
    return out;
  }

  #settleDownstream(taskId: string, out: TaskTransition[]): void {
    for (const down of this.#downstream.get(taskId) ?? []) {
      if (this.states.get(down) === 'pending') this.#settle(down, out);
    }
  }

  #settle(taskId: string, out: TaskTransition[]): void {
    const rule = this.dag.tasks.get(taskId)?.triggerRule ?? 'all_success';
    const verdict = ruleVerdict(rule, this.#tallies.get(taskId) ?? NO_UPSTREAM);
    if (verdict === 'wait') return;
    const to: TaskState = verdict === 'run' ? 'queued' : verdict;
    out.push({ taskId, from: 'pending', to });
    this.set(taskId, to);
    if (to !== 'queued') this.#settleDownstream(taskId, out);
  }

  get isComplete(): boolean {
    return this.#finalCount === this.states.size;
  }

  /** A run fails when any task failed or could not run because of a failure. */
  outcome(): 'success' | 'failed' {
    for (const s of this.states.values()) if (s === 'failed' || s === 'upstream_failed') return 'failed';
    return 'success';
  }
}
