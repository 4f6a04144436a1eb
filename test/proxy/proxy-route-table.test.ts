import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AIRFLOW_OPERATIONS } from '../../src/proxy/airflow-operations.ts';
import { proxyRouteTable } from '../../src/proxy/proxy-route-table.ts';
import { DENIED, RULES } from '../../src/proxy/proxy-rules.ts';
import { OPENAPI_FILES, readAirflowOperations } from '../../src/proxy/read-airflow-operations.ts';

describe('the proxy route table', () => {
  for (const api of ['v1', 'v2'] as const) {
    it(`lists exactly the operations of the published ${api} document`, () => {
      const yaml = readFileSync(
        new URL(`../../src/airflow/openapi/${OPENAPI_FILES[api]}`, import.meta.url),
        'utf8',
      );
      expect(AIRFLOW_OPERATIONS[api]).toEqual(readAirflowOperations(api, yaml));
    });

    it(`maps or deliberately denies every operation of the ${api} document`, () => {
      const table = proxyRouteTable(api);
      expect(table.length).toBeGreaterThan(80);
      const unmapped = table
        .filter((r) => !r.rule && !r.denied)
        .map((r) => `${r.method} ${r.path} ${r.operationId}`);
      expect(unmapped).toEqual([]);
      const both = table.filter((r) => r.rule && r.denied).map((r) => r.operationId);
      expect(both).toEqual([]);
    });
  }

  it('maps the operations the issue names to their Cedar actions', () => {
    const v2 = new Map(proxyRouteTable('v2').map((r) => [r.operationId, r.rule]));
    expect(v2.get('get_dags')).toEqual({ kind: 'list', list: 'dags' });
    expect(v2.get('get_dag')).toEqual({ kind: 'dag', action: 'view' });
    expect(v2.get('trigger_dag_run')).toEqual({ kind: 'trigger' });
    expect(v2.get('patch_dag_run')).toEqual({ kind: 'cancel' });
    expect(v2.get('post_clear_task_instances')).toEqual({ kind: 'clear', scope: 'tasks' });
    expect(v2.get('get_log')).toEqual({ kind: 'run', action: 'readLogs' });
    expect(v2.get('patch_dag')).toEqual({ kind: 'pause' });
    expect(v2.get('get_variables')).toEqual({ kind: 'admin', action: 'readVariables', write: false });
    expect(v2.get('post_connection')).toEqual({ kind: 'admin', action: 'writeConnections', write: true });
    expect(v2.get('get_pools')).toEqual({ kind: 'admin', action: 'readPools', write: false });
    expect(v2.get('get_config')).toEqual({ kind: 'admin', action: 'readConfig', write: false });
    const v1 = new Map(proxyRouteTable('v1').map((r) => [r.operationId, r.rule]));
    expect(v1.get('post_dag_run')).toEqual({ kind: 'trigger' });
    expect(v1.get('update_dag_run_state')).toEqual({ kind: 'cancel' });
    expect(v1.get('get_users')).toEqual({ kind: 'admin', action: 'manageUsers', write: false });
  });

  it('names no operation that neither document has', () => {
    const known = new Set([...AIRFLOW_OPERATIONS.v1, ...AIRFLOW_OPERATIONS.v2].map((o) => o.operationId));
    const stale = [...Object.keys(RULES), ...Object.keys(DENIED)].filter((id) => !known.has(id));
    expect(stale).toEqual([]);
  });
});
