/**
 * The proxy's route table: every operation of the published Airflow document of one API version,
 * with its decision rule (`RULES`), its deliberate refusal (`DENIED`), or neither (unmapped: refused,
 * naming it). Path templates become Fastify routes (`{dag_id}` → `:dag_id`).
 * @module
 */
import type { AirflowApiVersion } from '../airflow/airflow-types.ts';
import { AIRFLOW_OPERATIONS } from './airflow-operations.ts';
import { DENIED, type ProxyRule, RULES } from './proxy-rules.ts';
import type { AirflowOperation } from './read-airflow-operations.ts';

export interface ProxyRoute extends AirflowOperation {
  /** The route under the proxy's prefix, in Fastify's syntax. */
  readonly fastifyPath: string;
  /** The path parameters, in order. */
  readonly params: readonly string[];
  readonly rule: ProxyRule | undefined;
  /** Why the operation is refused on purpose. */
  readonly denied: string | undefined;
}

/**
 * @example
 * for (const r of proxyRouteTable('v2')) console.log(r.method, r.path, r.rule?.kind ?? r.denied ?? 'unmapped');
 */
export function proxyRouteTable(api: AirflowApiVersion): ProxyRoute[] {
  return AIRFLOW_OPERATIONS[api].map((op) => {
    const params: string[] = [];
    const fastifyPath = op.path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
      params.push(name);
      return `:${name}`;
    });
    return {
      ...op,
      fastifyPath,
      params,
      rule: RULES[op.operationId],
      denied: DENIED[op.operationId],
    };
  });
}
