/** Ends a run exactly once: the update matches only a run that is not final yet. @module */
import { FINAL_RUN_STATES, type RunState } from '../states.ts';
import type { Queryable } from './executor-db.ts';

export async function finishRun(
  q: Queryable,
  runId: string,
  state: Extract<RunState, 'success' | 'failed' | 'cancelled' | 'rejected' | 'expired'>,
  now: number,
  error: string | null = null,
  from: readonly RunState[] = ['running'],
): Promise<boolean> {
  const res = await q
    .updateTable('runs')
    .set({ state, ended_at: now, error })
    .where('id', '=', runId)
    .where(
      'state',
      'in',
      from.filter((s) => !(FINAL_RUN_STATES as readonly RunState[]).includes(s)),
    )
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}
