/** Rows as callers see them: params parsed (sensitive ones masked), flags as booleans. @module */
import { MASK, maskParams } from '../dag/mask-params.ts';
import type { DagSource } from '../engine/engine-types.ts';
import type { RunsTable } from '../store/database.ts';
import type { RunView } from './gate-types.ts';

/**
 * A run for the API, the CLI and chat. Params its DAG marks `sensitive` are masked; when the DAG is
 * no longer loaded (so its schema is unknown), every value is masked rather than guessed at, and
 * `dag_loaded` is false.
 */
export function toRunView(row: RunsTable, dags: Pick<DagSource, 'find'>): RunView {
  const params = JSON.parse(row.params) as Record<string, unknown>;
  const found = dags.find(row.env, row.dag_id);
  const shown = found
    ? maskParams(params, found.dag.paramsJsonSchema)
    : Object.fromEntries(Object.keys(params).map((k) => [k, MASK]));
  return { ...row, params: shown, break_glass: row.break_glass === 1, dag_loaded: found !== undefined };
}
