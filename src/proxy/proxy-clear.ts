/**
 * Clearing task instances through the proxy, decided per run: `POST …/dagRuns/{id}/clear`, and
 * `POST …/dags/{dag_id}/clearTaskInstances` for one named run or for a date range. Airflow clears
 * every run whose logical date is in `[start_date, end_date]` (a named run with `include_past` /
 * `include_future` opens the range from that run's date), so the proxy first asks Airflow which runs
 * that is, decides Cedar `clearTask` on each, and forwards only if every one is allowed; a denial
 * names the run. A cleared Airclutch run that had ended `failed` is reopened, as the bridge's own
 * clear does, so the executor follows it to its new end.
 * @module
 */
import type { AuditEvent } from '../audit/audit-types.ts';
import { auditDecision } from '../gate/audit-events.ts';
import { AirclutchError } from '../lib/errors.ts';
import type { Decision, PolicyRequest } from '../policy/policy-engine.ts';
import { callFacts, jsonBody, type ProxyCall, sendAnswer, upstreamRequest } from './proxy-call.ts';
import { airclutchRuns, findProxyRun, type ProxyRun, proxyRun } from './proxy-runs.ts';
import { resolveRunAlias } from './run-alias.ts';

/** The runs a clear covers, and the range Airflow applies (for the record). */
interface Covered {
  readonly runs: readonly ProxyRun[];
  readonly range?: { readonly start: string | null; readonly end: string | null };
}

export async function proxyClear(call: ProxyCall, scope: 'tasks' | 'run'): Promise<unknown> {
  const body = jsonBody(call);
  const { gate } = call.shared;
  const { env } = call.target;
  const dagId = call.params.dag_id!;
  let forwarded = call.body;
  let named = scope === 'run' ? call.params.dag_run_id : str(body.dag_run_id);
  if (scope === 'tasks' && named) {
    // A caller's own dag_run_id names the run Airclutch delivered for it, in the body too.
    const canonical = await resolveRunAlias(gate, env, dagId, named);
    if (canonical) {
      named = canonical;
      forwarded = Buffer.from(JSON.stringify({ ...body, dag_run_id: canonical }));
    }
  }
  const ranged = scope === 'tasks' && (!named || body.include_past === true || body.include_future === true);
  const covered: Covered = ranged
    ? await runsInRange(call, body, named)
    : { runs: [await findProxyRun(gate, env, dagId, named!)] };
  const decisions = decideEach(call, covered.runs);
  const refused = decisions.find((d) => d.decision.effect !== 'allow');
  const runIds = covered.runs.map((r) => r.resource.runId);
  if (refused) {
    await call.shared.audit.refusal({
      ...callFacts(call),
      resource: { env, dagId, runId: refused.run.resource.runId },
      decision: auditDecision('deny', refused.decision),
      outcome: 'denied',
      details: { action: 'clearTask', runs: runIds, ...(covered.range ? { range: covered.range } : {}) },
    });
    const others = covered.runs.length - 1;
    throw gate.denied(
      'clearTask',
      `run ${refused.run.resource.runId} of ${env}/${dagId}${others > 0 ? ` (one of the ${covered.runs.length} runs this clear covers; nothing was cleared)` : ''}`,
      refused.request,
      refused.decision,
    );
  }
  const resource = { env, dagId, ...(covered.runs.length === 1 ? { runId: runIds[0] } : {}) };
  await call.shared.audit.record({
    ...callFacts(call),
    resource,
    ...(decisions[0] ? { decision: auditDecision('allow', decisions[0].decision) } : {}),
    outcome: 'allowed',
    details: {
      runs: runIds,
      ...(covered.range ? { range: covered.range } : {}),
      dryRun: body.dry_run === true,
      tasks: Array.isArray(body.task_ids) ? body.task_ids.map(String) : 'all',
    },
  });
  const res = await call.target.upstream.send(upstreamRequest(call, { body: forwarded }));
  if (res.statusCode === 200 && body.dry_run !== true) {
    for (const run of covered.runs) if (run.row) await reopen(call, run);
  }
  await call.shared.audit.record({
    ...callFacts(call),
    resource,
    outcome: `airflow ${res.statusCode}`,
    airflowStatus: res.statusCode,
  });
  return sendAnswer(call.reply, res);
}

/** Cedar `clearTask` on each run, in order. */
function decideEach(call: ProxyCall, runs: readonly ProxyRun[]) {
  const { gate } = call.shared;
  return runs.map((run) => {
    const request: PolicyRequest = {
      principal: call.ctx.principal,
      action: 'clearTask',
      resource: run.resource,
      context: { params: run.params, now: new Date(gate.now()), source: call.ctx.source },
    };
    const decision: Decision = gate.policy.decide(request);
    return { run, request, decision };
  });
}

/**
 * The runs Airflow's clear will touch: those of the DAG whose logical date is in the range, asked
 * of Airflow page by page with its own filters (`logical_date_gte/lte`, `execution_date_gte/lte` on
 * Airflow 2). A named run with `include_past` / `include_future` is the range's closed end.
 */
async function runsInRange(call: ProxyCall, body: Record<string, unknown>, named: string | undefined) {
  const { gate, config } = call.shared;
  const { env, api, upstream } = call.target;
  const dagId = call.params.dag_id!;
  const base = `/api/${api}/dags/${encodeURIComponent(dagId)}/dagRuns`;
  let start = str(body.start_date) ?? null;
  let end = str(body.end_date) ?? null;
  if (named) {
    const { status, body: run } = await upstream.json(
      upstreamRequest(call, {
        method: 'GET',
        path: `${base}/${encodeURIComponent(named)}`,
        query: '',
        body: undefined,
      }),
    );
    const logical = status === 200 ? str((run as Record<string, unknown>).logical_date ?? null) : undefined;
    // A missing run, or one without a logical date, is Airflow's to refuse (404, 400): decided as named.
    if (!logical) return { runs: [await findProxyRun(gate, env, dagId, named)] };
    start = logical;
    end = logical;
  }
  if (body.include_past === true) start = null;
  if (body.include_future === true) end = null;
  const ids: string[] = [];
  for (let offset = 0; ; ) {
    const q = new URLSearchParams({ limit: '100', offset: String(offset), order_by: 'id' });
    const field = api === 'v2' ? 'logical_date' : 'execution_date';
    if (start) q.set(`${field}_gte`, start);
    if (end) q.set(`${field}_lte`, end);
    const { status, body: page } = await upstream.json(
      upstreamRequest(call, { method: 'GET', path: base, query: q.toString(), body: undefined }),
    );
    if (status !== 200) {
      throw new AirclutchError(
        'AIRFLOW_REFUSED',
        `Airflow answered ${status} when Airclutch asked which runs of ${dagId} the clear covers, so nothing was cleared`,
        { details: { status, answer: page } },
      );
    }
    const p = page as { dag_runs?: { dag_run_id?: unknown }[]; total_entries?: number };
    const items = p.dag_runs ?? [];
    ids.push(...items.map((r) => String(r.dag_run_id)));
    offset += items.length;
    if (ids.length > config.maxListItems) {
      throw new AirclutchError(
        'REQUEST_INVALID',
        `this clear covers more than ${config.maxListItems} runs of ${dagId}, each of which would be decided: narrow start_date and end_date`,
      );
    }
    if (items.length === 0 || offset >= (p.total_entries ?? 0)) break;
  }
  const rows = await airclutchRuns(gate, ids);
  return { runs: ids.map((id) => proxyRun(env, dagId, id, rows.get(id))), range: { start, end } };
}

/** `failed → running` for a cleared Airclutch run, recorded, so the bridge follows it again. */
async function reopen(call: ProxyCall, run: ProxyRun): Promise<void> {
  const { gate } = call.shared;
  const row = run.row!;
  await gate.db.kysely.transaction().execute(async (trx) => {
    const reopened = await trx
      .updateTable('runs')
      .set({ state: 'running', ended_at: null, error: null })
      .where('id', '=', row.id)
      .where('state', '=', 'failed')
      .executeTakeFirst();
    if (Number(reopened.numUpdatedRows) !== 1) return;
    await trx
      .updateTable('airflow_runs')
      .set({ remote_state: 'queued', updated_at: gate.now() })
      .where('run_id', '=', row.id)
      .execute();
    const event: AuditEvent = {
      action: 'run.state',
      actor: { kind: 'service', id: 'airflow-bridge' },
      source: 'bridge',
      resource: { env: row.env, dagId: row.dag_id, runId: row.id },
      outcome: 'running',
      details: {
        from: 'failed',
        reason: `tasks cleared through the Airflow proxy by ${call.ctx.principal.id}`,
      },
    };
    await gate.audit.append([event], { trx });
  });
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v ? v : undefined;
}
