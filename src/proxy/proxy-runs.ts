/**
 * The Cedar resource of an Airflow run named in a proxied path or list: a run Airclutch delivered
 * (`airclutch__<run id>`) is its Airclutch run, with its requester, state and params; any other run
 * (Airflow's schedule, a backfill) is a run of its DAG requested by `Service::"airflow"`, with no params.
 * Conf values are masked for every caller but the run's requester.
 * @module
 */
import { MASK, maskParams } from '../dag/mask-params.ts';
import type { Gate } from '../gate/gate.ts';
import type { GateContext } from '../gate/gate-types.ts';
import { principalRef } from '../identity/principal.ts';
import type { PolicyResource } from '../policy/policy-engine.ts';
import type { RunsTable } from '../store/database.ts';

export const REMOTE_PREFIX = 'airclutch__';

/** Conf keys Airflow itself treats as secrets (its `sensitive_var_conn_names` defaults). */
const SENSITIVE_KEY = /pass(word|wd)?|secret|api_?key|apikey|access_token|private_key|authorization|token/i;

export interface ProxyRun {
  readonly resource: Extract<PolicyResource, { kind: 'run' }>;
  readonly params: Record<string, unknown>;
  /** The Airclutch run, for runs Airclutch delivered. */
  readonly row: RunsTable | undefined;
}

type RunRow = RunsTable;

/** The Airclutch runs behind remote run ids (those Airclutch chose), in one query. */
export async function airclutchRuns(
  gate: Gate,
  remoteRunIds: Iterable<string>,
): Promise<Map<string, RunRow>> {
  const ids = [...new Set([...remoteRunIds].filter((r) => r.startsWith(REMOTE_PREFIX)))].map((r) =>
    r.slice(REMOTE_PREFIX.length),
  );
  const out = new Map<string, RunRow>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await gate.db.kysely
      .selectFrom('runs')
      .selectAll()
      .where('id', 'in', ids.slice(i, i + 500))
      .execute();
    for (const r of rows) out.set(`${REMOTE_PREFIX}${r.id}`, r);
  }
  return out;
}

/** The Cedar resource of one remote run. */
export function proxyRun(env: string, dagId: string, dagRunId: string, row: RunRow | undefined): ProxyRun {
  if (row && row.env === env && row.dag_id === dagId) {
    return {
      resource: {
        kind: 'run',
        env,
        dagId,
        runId: row.id,
        requestedBy: principalRef({
          kind: row.requested_by_kind as 'user' | 'service',
          id: row.requested_by,
        }),
        state: row.state,
      },
      params: JSON.parse(row.params) as Record<string, unknown>,
      row,
    };
  }
  return {
    resource: {
      kind: 'run',
      env,
      dagId,
      runId: dagRunId,
      requestedBy: principalRef({ kind: 'service', id: 'airflow' }),
    },
    params: {},
    row: undefined,
  };
}

/** Looks up one remote run's resource. */
export async function findProxyRun(
  gate: Gate,
  env: string,
  dagId: string,
  dagRunId: string,
): Promise<ProxyRun> {
  const rows = await airclutchRuns(gate, [dagRunId]);
  return proxyRun(env, dagId, dagRunId, rows.get(dagRunId));
}

/**
 * A run's `conf` as this caller may see it: unchanged for the run's requester; otherwise values the
 * DAG's params schema marks `sensitive`, and keys Airflow treats as secrets, are masked.
 */
export function maskConf(gate: Gate, ctx: GateContext, run: ProxyRun, conf: unknown): unknown {
  if (!conf || typeof conf !== 'object' || Array.isArray(conf)) return conf;
  if (run.row && run.resource.requestedBy === principalRef(ctx.principal)) return conf;
  const schema = gate.dags.find(run.resource.env, run.resource.dagId)?.dag.paramsJsonSchema;
  const masked = maskParams(conf, schema);
  for (const k of Object.keys(masked)) if (SENSITIVE_KEY.test(k)) masked[k] = MASK;
  return masked;
}
