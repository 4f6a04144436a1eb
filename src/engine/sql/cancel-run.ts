/** Cancels a run that has not ended: the run and its unstarted tasks become `cancelled`, in the caller's transaction. @module */
import type { Transaction } from 'kysely';
import { AirclutchError } from '../../lib/errors.ts';
import type { Database, RunsTable } from '../../store/database.ts';
import type { EngineTransition } from '../engine-types.ts';
import { isFinalRunState } from '../states.ts';
import { cancelTasks } from './cancel-tasks.ts';
import { finishRun } from './finish-run.ts';

export interface CancelledRun {
  readonly run: Pick<RunsTable, 'id' | 'env' | 'dag_id' | 'state'>;
  /** The run's move to `cancelled`, then each task's: for the audit trail and the events. */
  readonly transitions: readonly EngineTransition[];
}

/**
 * Returns null when the run had already ended. Attempts still running are stopped by the engine
 * that holds them, which notices the cancellation when it polls. Throws `RUN_NOT_FOUND`.
 */
export async function cancelRun(
  trx: Transaction<Database>,
  runId: string,
  reason: string,
  now: number,
): Promise<CancelledRun | null> {
  const run = await trx
    .selectFrom('runs')
    .select(['id', 'env', 'dag_id', 'state'])
    .where('id', '=', runId)
    .executeTakeFirst();
  if (!run) throw new AirclutchError('RUN_NOT_FOUND', `run ${runId} does not exist`);
  if (isFinalRunState(run.state)) return null;
  // The read gives the state for the record; the conditional update decides.
  if (!(await finishRun(trx, runId, 'cancelled', now, reason, [run.state]))) return null;
  const base = { runId, env: run.env, dagId: run.dag_id };
  const transitions: EngineTransition[] = [
    { kind: 'run', ...base, from: run.state, to: 'cancelled', error: reason },
    ...(await cancelTasks(trx, runId, now)).map((t) => ({
      kind: 'task' as const,
      ...base,
      taskId: t.taskId,
      from: t.from,
      to: 'cancelled' as const,
    })),
  ];
  return { run, transitions };
}
