/**
 * Votes on approval requests through the gate: Cedar `approve` decides who is eligible (services
 * only where a policy names them), the approvals store enforces the invariants (an approval binds to
 * the params hash and DAG version the voter was shown), and the vote and its consequence (the run
 * queued or rejected) commit with their audit record. A refused vote is recorded on its own.
 * @module
 */
import {
  type ApprovalRequest,
  castVote,
  closeRequest,
  findExpired,
  getApprovalRequest,
  listVotes,
  type Vote,
} from '../approvals/approval-store.ts';
import { getDagActionDelivery } from '../approvals/dag-action-delivery.ts';
import { actorOf } from '../audit/actor-of.ts';
import type { AuditEvent } from '../audit/audit-types.ts';
import { finishRun } from '../engine/sql/finish-run.ts';
import { principalRef, servicePrincipal } from '../identity/principal.ts';
import { AirclutchError, isAirclutchError } from '../lib/errors.ts';
import type { PolicyRequest } from '../policy/policy-engine.ts';
import type { ApprovalVotesTable } from '../store/database.ts';
import { auditDecision } from './audit-events.ts';
import type { Gate } from './gate.ts';
import type { ApprovalView, GateContext } from './gate-types.ts';

export interface VoteOutcome {
  readonly approval: ApprovalView;
  readonly approvals: number;
  readonly quorum: number;
  /** The run's state after the vote; `none` for a DAG action's request (it has no run). */
  readonly runState: string;
}

/** A vote's words beside its kind: the comment, and what the voter was shown of the request. */
export interface VoteInput {
  readonly comment?: string | undefined;
  /** The params hash the voter was shown (the request's `params_hash`). Required to approve. */
  readonly paramsHash?: string | undefined;
  /** The DAG version the voter was shown (the request's `dag_version`). Required to approve. */
  readonly dagVersion?: string | undefined;
}

/**
 * Approve, deny or (for break-glass runs) review. Every refusal (not eligible, self-vote, duplicate,
 * expired, closed, stale, unknown request) is an audit record with its code, written outside the
 * refused transaction so that it is not rolled back with it.
 *
 * @example
 * await voteOnApproval(gate, ctx, id, 'approve', { paramsHash: a.params_hash, dagVersion: a.dag_version });
 */
export async function voteOnApproval(
  gate: Gate,
  ctx: GateContext,
  approvalId: string,
  vote: Vote,
  input: VoteInput = {},
): Promise<VoteOutcome> {
  let event: AuditEvent = {
    action: vote,
    actor: actorOf(ctx.principal),
    resource: { approvalId },
    source: ctx.source,
    requestId: ctx.requestId,
  };
  try {
    return await castThroughGate(gate, ctx, approvalId, vote, input, (e) => {
      event = { ...event, ...e };
    });
  } catch (e) {
    if (isAirclutchError(e)) {
      const shown = { paramsHash: input.paramsHash ?? null, dagVersion: input.dagVersion ?? null };
      await gate.recordRefusal({
        outcome: 'refused',
        ...event,
        details: {
          code: e.code,
          message: e.message,
          shown,
          ...(input.comment ? { comment: input.comment } : {}),
        },
      });
    }
    throw e;
  }
}

async function castThroughGate(
  gate: Gate,
  ctx: GateContext,
  approvalId: string,
  vote: Vote,
  input: VoteInput,
  refusalEvent: (e: Partial<AuditEvent>) => void,
): Promise<VoteOutcome> {
  const { comment } = input;
  const now = gate.now();
  const request = await getApprovalRequest(gate.db.kysely, approvalId);
  // A DAG action's request (an Airflow unpause) has no run: nothing is queued, the action is taken.
  const run =
    request.run_id === null
      ? undefined
      : await gate.db.kysely
          .selectFrom('runs')
          .selectAll()
          .where('id', '=', request.run_id)
          .executeTakeFirstOrThrow();
  const params = run
    ? (JSON.parse(run.params) as Record<string, unknown>)
    : await dagActionParams(gate, request.env, request.dag_id);
  const policyRequest: PolicyRequest = {
    principal: ctx.principal,
    action: 'approve',
    resource: {
      kind: 'approvalRequest',
      env: request.env,
      dagId: request.dag_id,
      requestId: request.id,
      requestedBy: principalRef({
        kind: request.requested_by_kind as 'user' | 'service',
        id: request.requested_by,
      }),
    },
    context: { params, now: new Date(now), source: ctx.source },
  };
  const decision = gate.policy.decide(policyRequest);
  const base = {
    action: vote,
    actor: actorOf(ctx.principal),
    resource: {
      env: request.env,
      dagId: request.dag_id,
      dagVersion: request.dag_version,
      ...(run ? { runId: run.id } : {}),
      approvalId: request.id,
    },
    source: ctx.source,
    requestId: ctx.requestId,
    paramsHash: request.params_hash,
  };
  if (decision.effect !== 'allow') {
    refusalEvent({ ...base, decision: auditDecision('deny', decision), outcome: 'denied' });
    throw gate.denied(
      vote === 'approve' ? 'approve' : `${vote} (which needs approve)`,
      `approval request ${request.id}`,
      policyRequest,
      decision,
    );
  }
  refusalEvent({ ...base, decision: auditDecision('allow', decision) });
  if (request.expires_at !== null && now >= request.expires_at && request.state === 'pending') {
    await expireRequest(gate, request);
  }
  const currentVersion = gate.dags.find(request.env, request.dag_id)?.version ?? '(not loaded)';
  const result = await gate.recorded(async (trx) => {
    const tally = await castVote(trx, request, ctx.principal, vote, {
      comment,
      currentDagVersion: currentVersion,
      now,
      shown: { paramsHash: input.paramsHash, dagVersion: input.dagVersion },
    });
    let runState = run ? (run.state as string) : 'none';
    if (!run) {
      // A DAG action: the gate's handler takes it once this vote committed.
    } else if (tally.closedAs === 'approved') {
      const res = await trx
        .updateTable('runs')
        .set({ state: 'queued' })
        .where('id', '=', run.id)
        .where('state', '=', 'awaiting_approval')
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) {
        throw new AirclutchError('APPROVAL_CLOSED', `run ${run.id} is no longer awaiting approval`);
      }
      runState = 'queued';
    } else if (tally.closedAs === 'denied') {
      await finishRun(
        trx,
        run.id,
        'rejected',
        now,
        `denied by ${ctx.principal.id}${comment ? `: ${comment}` : ''}`,
        ['awaiting_approval'],
      );
      runState = 'rejected';
    }
    const events = [
      {
        ...base,
        decision: auditDecision('allow', decision),
        outcome: tally.closedAs ?? 'recorded',
        details: { approvals: tally.approvals, quorum: tally.quorum, ...(comment ? { comment } : {}) },
      },
    ];
    return { value: { tally, runState }, events };
  });
  // The request as this vote left it, without reading it back.
  const { tally } = result;
  let approval = withVotes(
    tally.closedAs ? { ...request, state: tally.closedAs, decided_at: now } : request,
    tally.votes,
  );
  if (result.tally.closedAs) gate.emit('approvalClosed', { approval, state: result.tally.closedAs });
  if (run && result.runState === 'queued') gate.engine.notify(run);
  if (!run && request.action && result.tally.closedAs === 'approved') {
    await gate.dagActions.get(request.action)?.(approval, ctx);
    // Shown with the vote: whether the action was applied, or is pending a retry, or failed.
    approval = { ...approval, delivery: await getDagActionDelivery(gate.db.kysely, approval.id) };
  }
  return {
    approval,
    approvals: result.tally.approvals,
    quorum: result.tally.quorum,
    runState: result.runState,
  };
}

/**
 * The params Cedar sees for a DAG action's request (it has no run): the DAG's defaults, which its
 * scheduled runs get once it is unpaused. Empty when the DAG is gone or has required params.
 */
export async function dagActionParams(
  gate: Pick<Gate, 'dags'>,
  env: string,
  dagId: string,
): Promise<Record<string, unknown>> {
  const found = gate.dags.find(env, dagId);
  if (!found) return {};
  try {
    return (await found.dag.parseParams({})) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** An approval request with its votes (`gate` may be anything holding the store). */
export async function approvalView(gate: Pick<Gate, 'db'>, id: string): Promise<ApprovalView> {
  const request = await getApprovalRequest(gate.db.kysely, id);
  const view = withVotes(request, await listVotes(gate.db.kysely, id));
  if (request.action === null) return view;
  return { ...view, delivery: await getDagActionDelivery(gate.db.kysely, id) };
}

function withVotes(request: ApprovalRequest, votes: readonly ApprovalVotesTable[]): ApprovalView {
  return {
    ...request,
    votes: votes.map((v) => ({
      voter: v.voter,
      voter_kind: v.voter_kind,
      vote: v.vote,
      comment: v.comment,
      created_at: v.created_at,
    })),
  };
}

/** Expires every pending request whose expiry passed: the run never starts. Returns how many. */
export async function expireApprovals(gate: Gate): Promise<number> {
  let n = 0;
  for (const request of await findExpired(gate.db.kysely, gate.now()))
    if (await expireRequest(gate, request)) n++;
  return n;
}

async function expireRequest(gate: Gate, request: ApprovalRequest): Promise<boolean> {
  const now = gate.now();
  const closed = await gate.recorded(async (trx) => {
    if (!(await closeRequest(trx, request.id, 'expired', now))) return { value: false, events: [] };
    if (request.run_id !== null) {
      await finishRun(
        trx,
        request.run_id,
        'expired',
        now,
        'the approval request expired before it was approved',
        ['awaiting_approval'],
      );
    }
    const events = [
      {
        action: 'approval.expire',
        actor: actorOf(servicePrincipal('airclutch')),
        resource: {
          env: request.env,
          dagId: request.dag_id,
          ...(request.run_id !== null ? { runId: request.run_id } : {}),
          approvalId: request.id,
        },
        source: 'engine',
        outcome: 'expired',
      },
    ];
    return { value: true, events };
  });
  if (closed)
    gate.emit('approvalClosed', { approval: await approvalView(gate, request.id), state: 'expired' });
  return closed;
}
