/** Keeps the `dags` table in step with the loaded DAGs, keeping each DAG's pause flag and schedule cursor. @module */
import type { Dag } from '../../dag/dag.ts';
import type { Queryable } from './executor-db.ts';

export interface DagRow {
  readonly env: string;
  readonly dag: Dag<any>;
  readonly version: string;
  readonly file: string;
}

export async function syncDags(
  q: Queryable,
  dags: readonly DagRow[],
  defaultMaxActiveRuns: number,
  now: number,
): Promise<void> {
  for (const { env, dag, version, file } of dags) {
    const o = dag.options;
    const values = {
      version,
      file,
      description: o.description ?? null,
      owner: o.owner ?? null,
      tags: JSON.stringify(o.tags ?? []),
      schedule: o.schedule ?? null,
      timezone: o.timezone ?? null,
      params_schema: JSON.stringify(dag.paramsJsonSchema),
      catchup: o.catchup ? 1 : 0,
      max_active_runs: o.maxActiveRuns ?? defaultMaxActiveRuns,
      updated_at: now,
    };
    await q
      .insertInto('dags')
      .values({ env, dag_id: dag.id, is_paused: 0, last_scheduled_at: null, ...values })
      .onConflict((oc) => oc.columns(['env', 'dag_id']).doUpdateSet(values))
      .execute();
  }
}
