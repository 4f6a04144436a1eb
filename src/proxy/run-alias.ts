/**
 * A caller's own `dag_run_id` as an alias of the run Airclutch delivered for it. A trigger through
 * the proxy that names its `dag_run_id` is recorded with that id as its idempotency key (schedule key
 * `proxy:<id>`); the run's id in Airflow stays Airclutch's (`airclutch__<run id>`), so the bridge
 * never adopts a run it did not create. Every run path of the proxy (GET, PATCH, clear, task
 * instances, logs) resolves the alias to that id before deciding and before asking Airflow.
 * @module
 */
import type { Gate } from '../gate/gate.ts';
import { REMOTE_PREFIX } from './proxy-runs.ts';

/** The schedule key that makes a caller's `dag_run_id` idempotent, and finds its run later. */
export function aliasKeyOf(dagRunId: string): string {
  return `proxy:${dagRunId}`;
}

/**
 * The remote run id (`airclutch__<run id>`) a caller's `dag_run_id` stands for in `env/dagId`, or
 * undefined when it is no alias (Airclutch's own ids, `~`, and runs Airflow created are themselves).
 *
 * @example
 * await resolveRunAlias(gate, 'staging', 'ci_build', 'build-42'); // 'airclutch__01J…'
 */
export async function resolveRunAlias(
  gate: Gate,
  env: string,
  dagId: string,
  dagRunId: string,
): Promise<string | undefined> {
  if (!dagRunId || dagRunId === '~' || dagRunId.startsWith(REMOTE_PREFIX)) return undefined;
  const row = await gate.db.kysely
    .selectFrom('runs')
    .select('id')
    .where('env', '=', env)
    .where('dag_id', '=', dagId)
    .where('schedule_key', '=', aliasKeyOf(dagRunId))
    .executeTakeFirst();
  return row ? `${REMOTE_PREFIX}${row.id}` : undefined;
}
