/**
 * The approvals a caller should see: pending requests Cedar lets it vote on (never its own), and
 * its own requests in any state, each with its run's params (sensitive ones masked) beside the
 * params hash and DAG version a vote sends back. The HTTP API and chat tools list them the same way.
 * A DAG action's request (an Airflow unpause) has no run: its params are empty.
 * @module
 */
import { principalRef } from '../identity/principal.ts';
import type { Gate } from './gate.ts';
import type { ApprovalView, GateContext } from './gate-types.ts';
import { toRunView } from './views.ts';
import { approvalView, dagActionParams } from './vote.ts';

/** An approval request as a voter is shown it: with the params its hash stands for, masked. */
export type ListedApproval = ApprovalView & { readonly params: unknown };

export interface ApprovalsForCaller {
  /** Pending requests the caller may approve or deny now. */
  readonly actionable: ListedApproval[];
  /** The caller's own requests, newest first. */
  readonly mine: ListedApproval[];
}

/**
 * @example
 * const { actionable, mine } = await listApprovalsFor(gate, ctx, { limit: 50 });
 */
export async function listApprovalsFor(
  gate: Gate,
  ctx: GateContext,
  options: { limit?: number } = {},
): Promise<ApprovalsForCaller> {
  const limit = Math.min(options.limit ?? 50, 500);
  const me = ctx.principal;
  const pending = await gate.db.kysely
    .selectFrom('approval_requests as a')
    .leftJoin('runs as r', 'r.id', 'a.run_id')
    .select(['a.id', 'a.env', 'a.dag_id', 'a.requested_by', 'a.requested_by_kind', 'r.params'])
    .where('a.state', '=', 'pending')
    .orderBy('a.created_at', 'desc')
    .limit(2_000)
    .execute();
  const actionable: ApprovalView[] = [];
  for (const a of pending) {
    if (actionable.length >= limit) break;
    if (a.requested_by === me.id && a.requested_by_kind === me.kind) continue;
    const decision = gate.policy.decide({
      principal: me,
      action: 'approve',
      resource: {
        kind: 'approvalRequest',
        env: a.env,
        dagId: a.dag_id,
        requestId: a.id,
        requestedBy: principalRef({ kind: a.requested_by_kind as 'user' | 'service', id: a.requested_by }),
      },
      context: {
        params: a.params ? JSON.parse(a.params) : await dagActionParams(gate, a.env, a.dag_id),
        now: new Date(gate.now()),
        source: ctx.source,
      },
    });
    if (decision.effect === 'allow') actionable.push(await approvalView(gate, a.id));
  }
  const own = await gate.db.kysely
    .selectFrom('approval_requests')
    .select('id')
    .where('requested_by', '=', me.id)
    .where('requested_by_kind', '=', me.kind)
    .orderBy('created_at', 'desc')
    .limit(limit)
    .execute();
  const mine = await Promise.all(own.map((o) => approvalView(gate, o.id)));
  return { actionable: await withParams(gate, actionable), mine: await withParams(gate, mine) };
}

/** Each request with its run's params, masked as the run views mask them. */
async function withParams(gate: Gate, approvals: ApprovalView[]): Promise<ListedApproval[]> {
  if (!approvals.some((a) => a.run_id !== null)) return approvals.map((a) => ({ ...a, params: {} }));
  const runs = await gate.db.kysely
    .selectFrom('runs')
    .selectAll()
    .where(
      'id',
      'in',
      approvals.flatMap((a) => (a.run_id === null ? [] : [a.run_id])),
    )
    .execute();
  const params = new Map(runs.map((r) => [r.id, toRunView(r, gate.dags).params]));
  return approvals.map((a) => ({ ...a, params: (a.run_id !== null && params.get(a.run_id)) || {} }));
}
