/** Which file each DAG was last loaded from, as `syncDags` recorded it. @module */
import type { Queryable } from './executor-db.ts';

/**
 * `env/dagId` to the absolute path of the file the store last saw it in: the DAG registry keeps a
 * DAG's id with that file when a newcomer declares the same id, even on a cold start.
 *
 * @example
 * const registry = new DagRegistry(config, { incumbents: await readDagFiles(db.kysely) });
 */
export async function readDagFiles(q: Queryable): Promise<Map<string, string>> {
  const rows = await q.selectFrom('dags').select(['env', 'dag_id', 'file']).execute();
  return new Map(rows.map((r) => [`${r.env}/${r.dag_id}`, r.file]));
}
