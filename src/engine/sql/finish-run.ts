/** Ends a run exactly once: the update matches only a run that is not final yet. @module */
import { FINAL_RUN_STATES, type RunState } from '../states.ts';
import { type Queryable, rawUpdate, tuples } from './executor-db.ts';

export async function finishRun(
  q: Queryable,
  runId: string,
  state: Extract<RunState, 'success' | 'failed' | 'cancelled' | 'rejected' | 'expired'>,
  now: number,
  error: string | null = null,
  from: readonly RunState[] = ['running'],
): Promise<boolean> {
  const open = from.filter((s) => !(FINAL_RUN_STATES as readonly RunState[]).includes(s));
  if (open.length === 0) return false;
  const changed = await rawUpdate(
    q,
    `update runs set state = ?, ended_at = ?, error = ? where id = ? and state in (${tuples(open.length, '?')})`,
    [state, now, error, runId, ...open],
  );
  return changed === 1;
}
