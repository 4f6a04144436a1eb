/** Airflow's task instance states, as Airclutch task states. @module */
import type { TaskState } from '../engine/states.ts';

/**
 * `none` and `scheduled` are pending; `deferred`, `restarting` and `up_for_reschedule` are running;
 * `removed` is skipped.
 *
 * @example
 * taskStateOf('up_for_reschedule'); // 'running'
 */
export function taskStateOf(s: string | null): TaskState {
  switch (s) {
    case null:
    case 'none':
    case 'scheduled':
      return 'pending';
    case 'queued':
      return 'queued';
    case 'running':
    case 'deferred':
    case 'restarting':
    case 'up_for_reschedule':
      return 'running';
    case 'up_for_retry':
      return 'up_for_retry';
    case 'success':
      return 'success';
    case 'failed':
      return 'failed';
    case 'upstream_failed':
      return 'upstream_failed';
    case 'skipped':
    case 'removed':
      return 'skipped';
    default:
      return 'pending';
  }
}
