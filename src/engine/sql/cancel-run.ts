/** Cancels a run that has not ended: the run and its unstarted tasks become `cancelled`, in one transaction. @module */
import type { Kysely } from 'kysely';
import { AirclutchError } from '../../lib/errors.ts';
import type { Database } from '../../store/database.ts';
import type { EngineHooks } from '../engine-types.ts';
import { finishRun } from './finish-run.ts';

/**
 * Returns the run's previous state, or null when it had already ended. Attempts still running are
 * stopped by the engine that holds them, which notices the cancellation when it polls.
 * Throws `RUN_NOT_FOUND`.
 */
export async function cancelRun(
  q: Kysely<Database>,
  runId: string,
  reason: string,
  now: number,
  hooks: EngineHooks = {},
) {
  const run = await q
    .selectFrom('runs')
    .select(['env', 'dag_id', 'state'])
    .where('id', '=', runId)
    .executeTakeFirst();
  if (!run) throw new AirclutchError('RUN_NOT_FOUND', `run ${runId} does not exist`);
  return q.transaction().execute(async (trx) => {
    if (!(await finishRun(trx, runId, 'cancelled', now, reason, ['queued', 'running', 'awaiting_approval'])))
      return null;
    await trx
      .updateTable('task_instances')
      .set({ state: 'cancelled', updated_at: now })
      .where('run_id', '=', runId)
      .where('state', 'in', ['pending', 'queued', 'up_for_retry'])
      .execute();
    await hooks.onTransitions?.(trx, [
      {
        kind: 'run',
        runId,
        env: run.env,
        dagId: run.dag_id,
        from: run.state,
        to: 'cancelled',
        error: reason,
      },
    ]);
    return { ...run, from: run.state };
  });
}
