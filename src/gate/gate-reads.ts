/**
 * Reading and cancelling through the gate: every DAG, run, log line and approval a caller sees was
 * allowed by Cedar (`view`, `readLogs`, `approve`), and cancelling asks `cancel` and is recorded
 * before the engine acts. The HTTP API, the CLI and the UI call these, so they cannot drift apart.
 * @module
 */

import { isAbsolute, relative } from 'node:path';
import type { Transaction } from 'kysely';
import { closeRequest } from '../approvals/approval-store.ts';
import { actorOf } from '../audit/actor-of.ts';
import type { RegistryImportError } from '../dag/dag-registry.ts';
import { getRun, listRuns, type RunFilter, readAttempts, readLogs } from '../engine/sql/read-runs.ts';
import { principalRef } from '../identity/principal.ts';
import type { PolicyAction } from '../policy/cedar-names.ts';
import type {
  Approver,
  Decision,
  Explanation,
  PolicyRequest,
  PolicyResource,
} from '../policy/policy-engine.ts';
import type { Database, RunsTable } from '../store/database.ts';
import { auditDecision, deniedEvent } from './audit-events.ts';
import { revealDag } from './dag-visibility.ts';
import type { Gate } from './gate.ts';
import type { GateContext, RunView, TriggerAbility } from './gate-types.ts';
import { toRunView } from './views.ts';
import { approvalView } from './vote.ts';

function runResource(run: RunsTable): PolicyResource {
  return {
    kind: 'run',
    env: run.env,
    dagId: run.dag_id,
    runId: run.id,
    requestedBy: principalRef({ kind: run.requested_by_kind as 'user' | 'service', id: run.requested_by }),
    state: run.state,
  };
}

function request(
  gate: Gate,
  ctx: GateContext,
  action: PolicyAction,
  resource: PolicyResource,
  params?: Record<string, unknown>,
): PolicyRequest {
  return {
    principal: ctx.principal,
    action,
    resource,
    context: { params, now: new Date(gate.now()), source: ctx.source },
  };
}

/** Asks Cedar; on a deny, records the refusal and throws `POLICY_DENIED` (with what would allow it). */
export async function authorize(
  gate: Gate,
  ctx: GateContext,
  action: PolicyAction,
  resource: PolicyResource,
  params?: Record<string, unknown>,
): Promise<Decision> {
  const req = request(gate, ctx, action, resource, params);
  const decision = gate.policy.decide(req);
  if (decision.effect !== 'allow') {
    await gate.recordRefusal(deniedEvent(ctx, action, resource, decision));
    const target =
      resource.kind === 'env' ? `environment ${resource.env}` : `${resource.env}/${resource.dagId}`;
    throw gate.denied(action, target, req, decision);
  }
  return decision;
}

/** What the caller may do with a DAG now: trigger at once, ask for approval, or nothing. */
export async function triggerAbility(
  gate: Gate,
  ctx: GateContext,
  env: string,
  dagId: string,
): Promise<TriggerAbility> {
  const { dag } = gate.dags.get(env, dagId);
  // Policies that read params see the defaults, and a placeholder for each required param without
  // one (without it the request would not even validate, and every such DAG would say `deny`): the
  // answer for a particular set of params may differ.
  const params = (await dag
    .parseParams(placeholders(dag.paramsJsonSchema))
    .catch(() => dag.parseParams({}))
    .catch(() => ({}))) as Record<string, unknown>;
  const base = request(gate, ctx, 'trigger', { kind: 'dag', env, dagId }, params);
  if (gate.policy.decide(base).effect === 'allow') return 'allow';
  return gate.policy.decide({ ...base, action: 'requestTrigger' }).effect === 'allow' ? 'approval' : 'deny';
}

/** A value of each required param's JSON Schema type (its default, else the type's zero value). */
function placeholders(schema: unknown): Record<string, unknown> {
  const s = schema as {
    properties?: Record<string, { type?: unknown; default?: unknown; enum?: unknown[] }>;
    required?: string[];
  };
  const out: Record<string, unknown> = {};
  for (const name of s?.required ?? []) {
    const p = s.properties?.[name];
    if (!p || p.default !== undefined) continue;
    if (p.enum?.length) out[name] = p.enum[0];
    else {
      const type = Array.isArray(p.type) ? p.type[0] : p.type;
      out[name] =
        type === 'string'
          ? ''
          : type === 'number' || type === 'integer'
            ? 0
            : type === 'boolean'
              ? false
              : type === 'array'
                ? []
                : type === 'object'
                  ? {}
                  : null;
    }
  }
  return out;
}

/** The DAGs the caller may view, with what it may do with each and its params JSON Schema. */
export async function listDagsFor(gate: Gate, ctx: GateContext, env?: string) {
  const out = [];
  for (const d of gate.dags.list(env)) {
    const view = gate.policy.decide(request(gate, ctx, 'view', { kind: 'dag', env: d.env, dagId: d.dag.id }));
    if (view.effect !== 'allow') continue;
    out.push({
      env: d.env,
      dagId: d.dag.id,
      // A DAG of an Airflow catalogue carries what Airflow said of it (`remote`); a local one does not.
      runsOn: 'remote' in d ? ('airflow' as const) : ('local' as const),
      // Whether Airflow has it paused (its schedule stopped), as of the catalogue's last refresh.
      ...('remote' in d ? { paused: (d.remote as { isPaused?: unknown }).isPaused === true } : {}),
      version: d.version,
      description: d.dag.options.description ?? null,
      owner: d.dag.options.owner ?? null,
      tags: [...(d.dag.options.tags ?? [])],
      schedule: d.dag.options.schedule ?? null,
      timezone: d.dag.options.timezone ?? null,
      tasks: [...d.dag.tasks.values()].map((t) => ({
        id: t.id,
        kind: t.kind,
        after: [...t.after],
        triggerRule: t.triggerRule,
      })),
      paramsSchema: d.dag.paramsJsonSchema,
      trigger: await triggerAbility(gate, ctx, d.env, d.dag.id),
    });
  }
  return out;
}

/** Runs the caller may view, newest first. */
export async function listRunsFor(gate: Gate, ctx: GateContext, filter: RunFilter): Promise<RunView[]> {
  const rows = await listRuns(gate.db.kysely, filter);
  return rows
    .filter(
      (r) =>
        gate.policy.decide(request(gate, ctx, 'view', runResource(r), JSON.parse(r.params))).effect ===
        'allow',
    )
    .map((r) => toRunView(r, gate.dags));
}

/** A run and its tasks, once Cedar allowed `action` on the run; `RUN_NOT_FOUND` or `POLICY_DENIED` otherwise. */
export async function allowedRun(gate: Gate, ctx: GateContext, runId: string, action: 'view' | 'readLogs') {
  const found = await getRun(gate.db.kysely, runId);
  await authorize(gate, ctx, action, runResource(found.run), JSON.parse(found.run.params));
  return found;
}

/** One run with its tasks and each task's attempts (for a Gantt chart); `view` on the run. */
export async function getRunFor(gate: Gate, ctx: GateContext, runId: string) {
  const { run, tasks } = await allowedRun(gate, ctx, runId, 'view');
  const attempts = await readAttempts(gate.db.kysely, runId);
  return {
    run: toRunView(run, gate.dags),
    tasks: tasks.map((t) => ({ ...t, attempts: attempts.get(t.task_id) ?? [] })),
  };
}

/** Log lines of a run (or one task) after a cursor; `readLogs` on the run. */
export async function readLogsFor(
  gate: Gate,
  ctx: GateContext,
  runId: string,
  options: { taskId?: string; afterId?: number; limit?: number } = {},
) {
  await allowedRun(gate, ctx, runId, 'readLogs');
  return readLogs(gate.db.kysely, runId, options);
}

/**
 * Cancels a run if Cedar allows `cancel`. The decision record, the run and its tasks becoming
 * `cancelled` (with their records) and its open approval request closing as `cancelled` (with its
 * record) commit in one transaction: no record, no cancel.
 */
export async function cancelRunFor(
  gate: Gate,
  ctx: GateContext,
  runId: string,
  reason?: string,
): Promise<RunView> {
  const { run } = await getRun(gate.db.kysely, runId);
  const params = JSON.parse(run.params) as Record<string, unknown>;
  const req = request(gate, ctx, 'cancel', runResource(run), params);
  const decision = gate.policy.decide(req);
  const event = {
    action: 'cancel',
    actor: actorOf(ctx.principal),
    resource: { env: run.env, dagId: run.dag_id, dagVersion: run.dag_version, runId },
    source: ctx.source,
    requestId: ctx.requestId,
    paramsHash: run.params_hash,
  };
  if (decision.effect !== 'allow') {
    await gate.audit
      .append([{ ...event, decision: auditDecision('deny', decision), outcome: 'denied' }])
      .catch(() => {});
    throw gate.denied('cancel', `run ${runId}`, req, decision);
  }
  const why = reason ?? `cancelled by ${ctx.principal.id}`;
  const now = gate.now();
  const { done, closed } = await gate.writes.run(async (trx) => {
    await gate.audit.append(
      [
        {
          ...event,
          decision: auditDecision('allow', decision),
          outcome: 'cancelling',
          details: reason ? { reason } : null,
        },
      ],
      { trx },
    );
    const done = await gate.engine.cancelRun(trx, runId, why);
    const closed = done ? await closeOpenApproval(trx, done.run, now) : null;
    if (closed) {
      await gate.audit.append(
        [
          {
            action: 'approval.cancel',
            actor: actorOf(ctx.principal),
            resource: { ...event.resource, approvalId: closed.id },
            source: ctx.source,
            requestId: ctx.requestId,
            paramsHash: run.params_hash,
            outcome: 'cancelled',
            details: { reason: why },
          },
        ],
        { trx },
      );
    }
    return { done, closed };
  });
  if (done) gate.engine.cancelled(done);
  if (closed) {
    gate.emit('approvalClosed', { approval: await approvalView(gate, closed.id), state: 'cancelled' });
  }
  if (!done) {
    const { run: now } = await getRun(gate.db.kysely, runId);
    return toRunView(now, gate.dags);
  }
  return (await getRunFor(gate, ctx, runId)).run;
}

/** Closes the run's pending approval request as `cancelled`, with its record, so no vote counts on it. */
async function closeOpenApproval(
  trx: Transaction<Database>,
  run: Pick<RunsTable, 'id' | 'env' | 'dag_id' | 'state'>,
  now: number,
): Promise<{ id: string } | null> {
  if (run.state !== 'awaiting_approval') return null;
  const open = await trx
    .selectFrom('approval_requests')
    .select('id')
    .where('run_id', '=', run.id)
    .where('kind', '=', 'approval')
    .where('state', '=', 'pending')
    .executeTakeFirst();
  if (!open || !(await closeRequest(trx, open.id, 'cancelled', now))) return null;
  return open;
}

/**
 * A what-if decision: the answer, the determining policies, and what would allow a deny. A DAG the
 * caller may not learn about answers `DAG_NOT_FOUND`, as a missing one does.
 */
export async function explainFor(
  gate: Gate,
  ctx: GateContext,
  input: {
    action: PolicyAction;
    env?: string;
    dagId: string;
    params?: unknown;
    as?: GateContext['principal'];
  },
): Promise<Explanation> {
  const env = gate.envOf(input.env);
  // Params errors name the DAG's fields: only for a caller who may learn that the DAG exists.
  const asked = input.action === 'breakGlass' ? 'breakGlass' : input.action === 'view' ? 'view' : 'trigger';
  const { dag } = await revealDag(gate, ctx, asked, env, input.dagId, 'explain');
  const params = (await dag.parseParams(input.params ?? {})) as Record<string, unknown>;
  const principal = input.as ?? ctx.principal;
  return gate.policy.explain({
    principal,
    action: input.action,
    resource: { kind: 'dag', env, dagId: input.dagId },
    context: { params, now: new Date(gate.now()), source: ctx.source },
  });
}

/**
 * Who could approve `principal`'s request to run `dagId` with these params: the groups and people
 * that `approve` permits name and Cedar allows (see `approversOf`); empty when the engine cannot tell.
 */
export async function approversFor(
  gate: Gate,
  ctx: GateContext,
  input: { env: string; dagId: string; params?: unknown; as?: GateContext['principal'] },
): Promise<Approver[]> {
  const { dag } = gate.dags.get(input.env, input.dagId);
  const params = (await dag.parseParams(input.params ?? {})) as Record<string, unknown>;
  const principal = input.as ?? ctx.principal;
  return (
    gate.policy.approvers?.({
      principal,
      action: 'approve',
      resource: {
        kind: 'approvalRequest',
        env: input.env,
        dagId: input.dagId,
        requestId: 'what-if',
        requestedBy: principalRef(principal),
      },
      context: { params, now: new Date(gate.now()), source: ctx.source },
    }) ?? []
  );
}

/** An import error as the API shows it: the file relative to the project root when it is under it. */
export interface ImportErrorView {
  env: string;
  dagId: string | null;
  file: string;
  line: number | null;
  column: number | null;
  message: string;
  /** `local` for a DAG file of this project, `airflow` for one Airflow reports. */
  source: 'local' | 'airflow';
}

/**
 * The import errors (local DAG files and Airflow's) the caller may see: one naming a loaded DAG
 * when it may `view` that DAG; any other when it may view some DAG of that environment or read its
 * audit trail (a file that failed to load names no DAG Cedar could decide on).
 */
export function importErrorsFor(
  gate: Gate,
  ctx: GateContext,
  errors: readonly RegistryImportError[],
  rootDir: string,
): ImportErrorView[] {
  const mayView = (env: string, dagId: string) =>
    gate.policy.decide(request(gate, ctx, 'view', { kind: 'dag', env, dagId })).effect === 'allow';
  const envSeen = new Map<string, boolean>();
  const mayViewEnv = (env: string) => {
    let known = envSeen.get(env);
    if (known === undefined) {
      known =
        gate.dags.list(env).some((d) => mayView(env, d.dag.id)) ||
        gate.policy.decide(request(gate, ctx, 'readAudit', { kind: 'env', env })).effect === 'allow';
      envSeen.set(env, known);
    }
    return known;
  };
  const out: ImportErrorView[] = [];
  for (const e of errors) {
    const loaded = e.dagId !== undefined && gate.dags.find(e.env, e.dagId) !== undefined;
    if (!(loaded ? mayView(e.env, e.dagId as string) : mayViewEnv(e.env))) continue;
    const local = isAbsolute(e.file) && !relative(rootDir, e.file).startsWith('..');
    out.push({
      env: e.env,
      dagId: e.dagId ?? null,
      file: local ? relative(rootDir, e.file) : e.file,
      line: e.line,
      column: e.column,
      message: e.message,
      source: local ? 'local' : 'airflow',
    });
  }
  return out;
}
