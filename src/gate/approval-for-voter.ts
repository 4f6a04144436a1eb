/**
 * What a voter is shown before a vote: the approval request, its run's params (sensitive ones
 * masked) and the params hash and DAG version the vote will be bound to. The CLI prints it and
 * sends back the hash and version, so that an approval counts only for what the voter saw.
 * @module
 */
import { principalRef } from '../identity/principal.ts';
import type { PolicyRequest } from '../policy/policy-engine.ts';
import type { Gate } from './gate.ts';
import { allowedRun } from './gate-reads.ts';
import type { ApprovalView, GateContext, RunView } from './gate-types.ts';
import { toRunView } from './views.ts';
import { approvalView, dagActionParams } from './vote.ts';

export interface ApprovalForVoter {
  readonly approval: ApprovalView;
  /** The run the request would start, params masked; null for a DAG action's request (an unpause). */
  readonly run: RunView | null;
}

/**
 * The request and its run, for someone Cedar lets `approve` it or `view` its run; `POLICY_DENIED`
 * (saying what would allow it) otherwise, `APPROVAL_NOT_FOUND` for an unknown id.
 *
 * @example
 * const { approval, run } = await approvalForVoter(gate, ctx, id);
 * await voteOnApproval(gate, ctx, id, 'approve', { paramsHash: approval.params_hash, dagVersion: approval.dag_version });
 */
export async function approvalForVoter(gate: Gate, ctx: GateContext, id: string): Promise<ApprovalForVoter> {
  const approval = await approvalView(gate, id);
  const row =
    approval.run_id === null
      ? undefined
      : await gate.db.kysely
          .selectFrom('runs')
          .selectAll()
          .where('id', '=', approval.run_id)
          .executeTakeFirstOrThrow();
  const params = row ? JSON.parse(row.params) : await dagActionParams(gate, approval.env, approval.dag_id);
  const request: PolicyRequest = {
    principal: ctx.principal,
    action: 'approve',
    resource: {
      kind: 'approvalRequest',
      env: approval.env,
      dagId: approval.dag_id,
      requestId: approval.id,
      requestedBy: principalRef({
        kind: approval.requested_by_kind as 'user' | 'service',
        id: approval.requested_by,
      }),
    },
    context: { params, now: new Date(gate.now()), source: ctx.source },
  };
  const decision = gate.policy.decide(request);
  const mayApprove = decision.effect === 'allow';
  if (!row) {
    // A DAG action's request has no run to view: only someone who may approve it is shown it.
    if (!mayApprove) throw gate.denied('approve', `approval request ${approval.id}`, request, decision);
    return { approval, run: null };
  }
  if (!mayApprove) await allowedRun(gate, ctx, row.id, 'view');
  return { approval, run: toRunView(row, gate.dags) };
}
