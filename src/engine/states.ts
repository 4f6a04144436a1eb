/**
 * The state machines of runs, task instances and attempts. Each is written down once, here; the
 * store enforces every transition with a conditional update (`UPDATE … WHERE state IN (…)`), so a
 * caller that races another cannot move a row twice.
 *
 * ## Run
 * ```
 *   awaiting_approval ──approve (gate)──▶ queued ──scheduler starts──▶ running ──▶ success | failed
 *        │  └─deny (gate)──▶ rejected        │                          │
 *        └─expire (sweeper)──▶ expired       └──cancel──▶ cancelled ◀───┘ cancel
 * ```
 * - `queued`: created and allowed; waits for a slot under the DAG's `maxActiveRuns`.
 * - `running`: the scheduler started it (set once, with `started_at`).
 * - `queued → failed`: the executor refuses to start it: no decision record (`RUN_UNDECIDED`), its
 *   DAG is not loaded (`DAG_NOT_FOUND`) or changed since the decision (`DAG_CHANGED`).
 * - `running → failed`: on resume after a restart, its DAG is gone or changed; its unstarted tasks
 *   are cancelled.
 * - A run ends exactly once: the update to a final state only matches a non-final row.
 *
 * ## Task instance (one per task in a run)
 * ```
 *   pending ──upstream done, rule met──▶ queued ──claimed by executor──▶ running
 *      │                                                                  │
 *      ├──rule can never be met──▶ upstream_failed | skipped              ├──▶ success
 *      └──run cancelled or refused──▶ cancelled                                      ├──▶ failed (no tries left)
 *                                                                         └──▶ up_for_retry ──backoff──▶ queued
 * ```
 *
 * ## Attempt (one try of a task instance)
 * ```
 *   running ──▶ success | failed
 * ```
 * An attempt completes at most once: completion matches only `state = 'running'`. After a crash,
 * recovery marks the attempts the dead process held as failed (`crashed`).
 * @module
 */

export const RUN_STATES = [
  'awaiting_approval',
  'queued',
  'running',
  'success',
  'failed',
  'cancelled',
  'rejected',
  'expired',
] as const;
export type RunState = (typeof RUN_STATES)[number];

/** Runs in these states never change again. */
export const FINAL_RUN_STATES = [
  'success',
  'failed',
  'cancelled',
  'rejected',
  'expired',
] as const satisfies readonly RunState[];
/** Runs that count against `maxActiveRuns`. */
export const ACTIVE_RUN_STATES = ['running'] as const satisfies readonly RunState[];

export const TASK_STATES = [
  'pending',
  'queued',
  'running',
  'up_for_retry',
  'success',
  'failed',
  'upstream_failed',
  'skipped',
  'cancelled',
] as const;
export type TaskState = (typeof TASK_STATES)[number];

export const FINAL_TASK_STATES = [
  'success',
  'failed',
  'upstream_failed',
  'skipped',
  'cancelled',
] as const satisfies readonly TaskState[];

export type AttemptState = 'running' | 'success' | 'failed';

export function isFinalRunState(s: RunState): boolean {
  return (FINAL_RUN_STATES as readonly RunState[]).includes(s);
}

export function isFinalTaskState(s: TaskState): boolean {
  return (FINAL_TASK_STATES as readonly TaskState[]).includes(s);
}
