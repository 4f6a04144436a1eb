/** Ends a run the engine may not start or go on with. @module */
import type { Transaction } from 'kysely';
import type { Database, RunsTable } from '../../store/database.ts';
import type { EngineTransition } from '../engine-types.ts';
import { cancelTasks } from './cancel-tasks.ts';
import type { StartRefusal } from './find-start-refusal.ts';
import { finishRun } from './finish-run.ts';

/**
 * Fails the run with the refusal's code (from `queued`, or from `running` when found after a
 * restart) and cancels its unstarted tasks. Returns the transitions made: none when the run had
 * already left `from`.
 */
export async function refuseRun(
  trx: Transaction<Database>,
  row: Pick<RunsTable, 'id' | 'env' | 'dag_id'>,
  from: 'queued' | 'running',
  refusal: StartRefusal,
  now: number,
): Promise<EngineTransition[]> {
  const error = `${refusal.code}: ${refusal.message}`;
  if (!(await finishRun(trx, row.id, 'failed', now, error, [from]))) return [];
  const base = { runId: row.id, env: row.env, dagId: row.dag_id };
  return [
    { kind: 'run', ...base, from, to: 'failed', error, code: refusal.code },
    ...(await cancelTasks(trx, row.id, now)).map((t) => ({
      kind: 'task' as const,
      ...base,
      taskId: t.taskId,
      from: t.from,
      to: 'cancelled' as const,
    })),
  ];
}
