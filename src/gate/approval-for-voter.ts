/**
 * What a voter is shown before a vote: the approval request, its run's params (sensitive ones
 * masked) and the params hash and DAG version the vote will be bound to, with whether the caller
 * may vote on it now and, if not, why (the code and message a vote would be refused with). The CLI
 * prints it and the UI's approval page shows it; both send back the hash and version, so that an
 * approval counts only for what the voter saw.
 * @module
 */
import { principalRef } from '../identity/principal.ts';
import type { ErrorCode } from '../lib/errors.ts';
import type { PolicyRequest } from '../policy/policy-engine.ts';
import type { Gate } from './gate.ts';
import { allowedRun, authorize } from './gate-reads.ts';
import type { ApprovalView, GateContext, RunView } from './gate-types.ts';
import { toRunView } from './views.ts';
import { approvalView, dagActionParams } from './vote.ts';

/**
 * Whether the caller may vote now; else why not, as a code and message: the requester's own request
 * first (`APPROVAL_SELF_VOTE`), then policy (`POLICY_DENIED`, with what would allow it), then the
 * store's checks (closed, expired, already voted, DAG changed).
 */
export interface VoterStanding {
  readonly allowed: boolean;
  readonly code: ErrorCode | null;
  readonly message: string | null;
}

export interface ApprovalForVoter {
  readonly approval: ApprovalView;
  /** The run the request would start, params masked; null for a DAG action's request (an unpause). */
  readonly run: RunView | null;
  /** The policies that made the request need approval (from its decision record). */
  readonly policies: string[];
  /** What the requester said: the run's note, or a DAG action's reason (from its record). */
  readonly note: string | null;
  readonly canVote: VoterStanding;
}

/**
 * The request and its run, for someone Cedar lets `approve` it or `view` its run (for a DAG
 * action's request, `view` its DAG); `POLICY_DENIED` (recorded, saying what would allow it)
 * otherwise, `APPROVAL_NOT_FOUND` for an unknown id.
 *
 * @example
 * const { approval, run, canVote } = await approvalForVoter(gate, ctx, id);
 * if (canVote.allowed) await voteOnApproval(gate, ctx, id, 'approve', { paramsHash: approval.params_hash, dagVersion: approval.dag_version });
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
  if (!mayApprove) {
    // Not a voter: shown only to who may see what it would do (the run, or the DAG it would unpause).
    if (row) await allowedRun(gate, ctx, row.id, 'view');
    else await authorize(gate, ctx, 'view', { kind: 'dag', env: approval.env, dagId: approval.dag_id });
  }
  // The requester is told first that their own request is not theirs to vote on, whatever policy says.
  const canVote = isRequester(ctx, approval)
    ? refused(
        'APPROVAL_SELF_VOTE',
        'you asked for this, so you cannot vote on it: another eligible person must',
      )
    : mayApprove
      ? standing(gate, ctx, approval)
      : refused(
          'POLICY_DENIED',
          gate.denied(
            approval.kind === 'review' ? 'review (which needs approve)' : 'approve',
            `approval request ${approval.id}`,
            request,
            decision,
          ).message,
        );
  const opened = await openingRecord(gate, approval);
  return {
    approval,
    run: row ? toRunView(row, gate.dags) : null,
    policies: opened.policies,
    note: row ? row.note : opened.reason,
    canVote,
  };
}

const isRequester = (ctx: GateContext, a: ApprovalView) =>
  a.requested_by === ctx.principal.id && a.requested_by_kind === ctx.principal.kind;

const refused = (code: ErrorCode, message: string): VoterStanding => ({ allowed: false, code, message });

/** What the approvals store would refuse an eligible voter's vote for (`castVote`'s checks). */
function standing(gate: Gate, ctx: GateContext, a: ApprovalView): VoterStanding {
  const me = ctx.principal;
  if (a.state !== 'pending')
    return refused('APPROVAL_CLOSED', `approval request ${a.id} is already ${a.state}`);
  if (a.expires_at !== null && gate.now() >= a.expires_at) {
    return refused(
      'APPROVAL_EXPIRED',
      `approval request ${a.id} expired at ${new Date(a.expires_at).toISOString()}: ask again`,
    );
  }
  if (a.votes.some((v) => v.voter === me.id && v.voter_kind === me.kind)) {
    return refused(
      'APPROVAL_DUPLICATE_VOTE',
      `you already voted on approval request ${a.id}; one identity counts once`,
    );
  }
  const current = gate.dags.find(a.env, a.dag_id)?.version ?? '(not loaded)';
  if (current !== a.dag_version) {
    return refused(
      'APPROVAL_STALE',
      `DAG ${a.dag_id} changed since the request (version ${a.dag_version}, now ${current}); votes no longer apply: ask again`,
    );
  }
  return { allowed: true, code: null, message: null };
}

/**
 * The record of the decision that opened the request: its determining policies, and the reason the
 * requester gave (a DAG action keeps it only there: it has no run to hold a note).
 */
async function openingRecord(
  gate: Gate,
  a: ApprovalView,
): Promise<{ policies: string[]; reason: string | null }> {
  let q = gate.db.kysely
    .selectFrom('audit_records')
    .select(['decision', 'details'])
    .where('approval_id', '=', a.id)
    .where('decision', 'is not', null)
    .orderBy('seq', 'asc')
    .limit(1);
  // Narrowed by an indexed column: the run's, else the DAG's.
  q =
    a.run_id !== null
      ? q.where('run_id', '=', a.run_id)
      : q.where('env', '=', a.env).where('dag_id', '=', a.dag_id);
  const record = await q.executeTakeFirst();
  const decision = record?.decision ? (JSON.parse(record.decision) as { policies?: unknown }) : {};
  const details = record?.details ? (JSON.parse(record.details) as { reason?: unknown }) : {};
  return {
    policies: Array.isArray(decision.policies) ? decision.policies.map(String) : [],
    reason: typeof details.reason === 'string' ? details.reason : null,
  };
}
