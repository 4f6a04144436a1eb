/**
 * Reads the operations of a published Airflow OpenAPI document: method, path template (relative to
 * `/api/v1` or `/api/v2`) and operation id. The proxy's route table (`airflow-operations.ts`) is
 * generated from this, and a test checks that it still matches the documents in
 * `src/airflow/openapi/`.
 * @module
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { AirflowApiVersion } from '../airflow/airflow-types.ts';

export interface AirflowOperation {
  readonly operationId: string;
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Airflow's path template without the `/api/vN` root: `/dags/{dag_id}/dagRuns`. */
  readonly path: string;
}

export const OPENAPI_FILES: Readonly<Record<AirflowApiVersion, string>> = {
  v2: 'airflow-3.2-v2.yaml',
  v1: 'airflow-2.10-v1.yaml',
};

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/**
 * @example
 * readAirflowOperations('v2', readFileSync('src/airflow/openapi/airflow-3.2-v2.yaml', 'utf8'));
 */
export function readAirflowOperations(api: AirflowApiVersion, yamlText: string): AirflowOperation[] {
  const doc = parse(yamlText) as { paths: Record<string, Record<string, { operationId?: string }>> };
  const root = `/api/${api}`;
  const out: AirflowOperation[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const m of METHODS) {
      const op = ops[m];
      if (!op?.operationId) continue;
      const rel = path.startsWith(root) ? path.slice(root.length) : path;
      out.push({
        operationId: op.operationId,
        method: m.toUpperCase() as AirflowOperation['method'],
        path: rel,
      });
    }
  }
  return out;
}

/** Reads one of the documents shipped in `src/airflow/openapi/`. */
export function readShippedOperations(api: AirflowApiVersion): AirflowOperation[] {
  const url = new URL(`../airflow/openapi/${OPENAPI_FILES[api]}`, import.meta.url);
  return readAirflowOperations(api, readFileSync(url, 'utf8'));
}
