/**
 * Approval requests and votes, with their invariants enforced here, in the data layer, not in a UI:
 * the requester never counts, one identity counts once, a vote is bound to the params hash and DAG
 * version the voter was shown (an approval must name both, and they must be the request's), and one
 * eligible denial ends the request. Who is eligible is Cedar's `approve`, asked by the gate before
 * it calls `castVote`.
 *
 * ## Approval request
 * ```
 *   pending ──quorum of approvals──▶ approved   (its run: awaiting_approval → queued)
 *      ├────one eligible denial────▶ denied     (run → rejected)
 *      ├────expiry passes──────────▶ expired    (run → expired; it never starts)
 *      └────run cancelled──────────▶ cancelled
 *   pending (kind review) ──a reviewer──▶ reviewed   (break-glass runs, after the fact)
 * ```
 * A request may be for a DAG action instead of a run (`action`, e.g. `unpause` of an Airflow DAG,
 * `run_id` null): the same invariants hold, and once approved the action is taken (the gate's
 * `dagActions` handler), not a run queued.
 * Every move is a conditional update on `state = 'pending'`: two voters racing cannot both close it.
 * @module
 */
import type { Kysely, Transaction } from 'kysely';
import type { Principal } from '../identity/principal.ts';
import { AirclutchError } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import type { ApprovalRequestsTable, ApprovalVotesTable, Database } from '../store/database.ts';
import { isUniqueViolation } from '../store/is-unique-violation.ts';

export type ApprovalRequest = ApprovalRequestsTable;
export type Vote = 'approve' | 'deny' | 'review';

export interface NewApprovalRequest {
  readonly kind: ApprovalRequest['kind'];
  /** The run the request would start; null for a DAG action's request (then `action` says which). */
  readonly runId: string | null;
  readonly action?: ApprovalRequest['action'];
  readonly env: string;
  readonly dagId: string;
  readonly dagVersion: string;
  readonly paramsHash: string;
  readonly requestedBy: Pick<Principal, 'kind' | 'id'>;
  readonly quorum: number;
  readonly reason: string | null;
  readonly expiresAt: number | null;
}

/** What the voter was shown of a request: the votes are bound to it. */
export interface ShownRequest {
  readonly paramsHash?: string | undefined;
  readonly dagVersion?: string | undefined;
}

export interface VoteResult {
  /** Approvals that count so far (bound to the request's params and DAG version). */
  readonly approvals: number;
  readonly quorum: number;
  /** Set when this vote closed the request. */
  readonly closedAs?: 'approved' | 'denied' | 'reviewed' | undefined;
  /** Every vote on the request, this one included. */
  readonly votes: readonly ApprovalVotesTable[];
}

type Q = Kysely<Database> | Transaction<Database>;

export async function createApprovalRequest(
  q: Q,
  r: NewApprovalRequest,
  now: number,
): Promise<ApprovalRequest> {
  const row: ApprovalRequest = {
    id: newId(),
    kind: r.kind,
    run_id: r.runId,
    env: r.env,
    dag_id: r.dagId,
    dag_version: r.dagVersion,
    params_hash: r.paramsHash,
    requested_by_kind: r.requestedBy.kind,
    requested_by: r.requestedBy.id,
    quorum: r.quorum,
    state: 'pending',
    reason: r.reason,
    created_at: now,
    expires_at: r.expiresAt,
    decided_at: null,
    action: r.action ?? null,
  };
  await q.insertInto('approval_requests').values(row).execute();
  return row;
}

/** Throws `APPROVAL_NOT_FOUND`. */
export async function getApprovalRequest(q: Q, id: string): Promise<ApprovalRequest> {
  const row = await q.selectFrom('approval_requests').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new AirclutchError('APPROVAL_NOT_FOUND', `approval request ${id} does not exist`);
  return row;
}

/**
 * Records one vote and closes the request when it decides it. Checks, in order: the request is
 * open and not expired, the voter is not the requester, the DAG version is the one the request was
 * made for, the params hash and DAG version the voter was shown (`shown`, required to approve) are
 * the request's (`APPROVAL_STALE` otherwise), and the voter has not voted already. The vote row
 * keeps the params hash and DAG version it is bound to.
 */
export async function castVote(
  trx: Transaction<Database>,
  request: ApprovalRequest,
  voter: Pick<Principal, 'kind' | 'id'>,
  vote: Vote,
  options: {
    comment?: string | undefined;
    currentDagVersion: string;
    now: number;
    shown?: ShownRequest | undefined;
  },
): Promise<VoteResult> {
  const { now } = options;
  if (request.state !== 'pending') {
    throw new AirclutchError('APPROVAL_CLOSED', `approval request ${request.id} is already ${request.state}`);
  }
  if (request.expires_at !== null && now >= request.expires_at) {
    throw new AirclutchError(
      'APPROVAL_EXPIRED',
      `approval request ${request.id} expired at ${new Date(request.expires_at).toISOString()}; the run will not start: trigger it again`,
    );
  }
  if ((vote === 'review') !== (request.kind === 'review')) {
    throw new AirclutchError(
      'REQUEST_INVALID',
      `a ${request.kind} request takes ${request.kind === 'review' ? 'a review' : 'approve or deny'}, not ${vote}`,
    );
  }
  if (voter.kind === request.requested_by_kind && voter.id === request.requested_by) {
    throw new AirclutchError(
      'APPROVAL_SELF_VOTE',
      `${voter.id} requested this ${request.action ? `${request.action} of DAG ${request.dag_id}` : 'run'} and cannot ${vote} it: another eligible person must`,
    );
  }
  if (options.currentDagVersion !== request.dag_version) {
    throw new AirclutchError(
      'APPROVAL_STALE',
      `DAG ${request.dag_id} changed since the request (version ${request.dag_version}, now ${options.currentDagVersion}); votes no longer apply: trigger the run again`,
    );
  }
  const shown = boundTo(request, vote, options.shown ?? {});
  try {
    await trx
      .insertInto('approval_votes')
      .values({
        request_id: request.id,
        voter_kind: voter.kind,
        voter: voter.id,
        vote,
        comment: options.comment ?? null,
        params_hash: shown.paramsHash,
        dag_version: shown.dagVersion,
        created_at: now,
      })
      .execute();
  } catch (e) {
    if (isUniqueViolation(e)) {
      throw new AirclutchError(
        'APPROVAL_DUPLICATE_VOTE',
        `${voter.id} already voted on approval request ${request.id}; one identity counts once`,
      );
    }
    throw e;
  }
  const votes = await listVotes(trx, request.id);
  const approvals = countApprovals(votes, request);
  const closeAs =
    vote === 'deny'
      ? 'denied'
      : vote === 'review'
        ? 'reviewed'
        : approvals >= request.quorum
          ? 'approved'
          : undefined;
  if (closeAs && !(await closeRequest(trx, request.id, closeAs, now))) {
    throw new AirclutchError('APPROVAL_CLOSED', `approval request ${request.id} was closed by another vote`);
  }
  return { approvals, quorum: request.quorum, closedAs: closeAs, votes };
}

/**
 * The params hash and DAG version a vote is bound to: what the voter was shown, which must be the
 * request's. An approval must name both; a denial or review that names neither binds to the request.
 */
function boundTo(
  request: ApprovalRequest,
  vote: Vote,
  shown: ShownRequest,
): { paramsHash: string; dagVersion: string } {
  if (vote === 'approve' && (!shown.paramsHash || !shown.dagVersion)) {
    throw new AirclutchError(
      'REQUEST_INVALID',
      `to approve request ${request.id}, send the params hash and DAG version you were shown (paramsHash and dagVersion: the request's params_hash and dag_version), so that the approval binds to what you saw`,
      {
        details: {
          missing: [!shown.paramsHash && 'paramsHash', !shown.dagVersion && 'dagVersion'].filter(Boolean),
        },
      },
    );
  }
  const stale = [
    shown.paramsHash !== undefined && shown.paramsHash !== request.params_hash
      ? `params hash ${shown.paramsHash} (the request's is ${request.params_hash})`
      : '',
    shown.dagVersion !== undefined && shown.dagVersion !== request.dag_version
      ? `DAG version ${shown.dagVersion} (the request's is ${request.dag_version})`
      : '',
  ].filter(Boolean);
  if (stale.length) {
    throw new AirclutchError(
      'APPROVAL_STALE',
      `you were shown ${stale.join(' and ')} of approval request ${request.id}: what you saw is not what would run. Look at the request again and vote on what it holds`,
      {
        details: {
          shown: { paramsHash: shown.paramsHash ?? null, dagVersion: shown.dagVersion ?? null },
          request: { paramsHash: request.params_hash, dagVersion: request.dag_version },
        },
      },
    );
  }
  return { paramsHash: request.params_hash, dagVersion: request.dag_version };
}

/**
 * Approvals that count: bound to the request's params hash and DAG version, and never the requester's
 * (the data layer enforces both, whatever wrote the votes).
 */
function countApprovals(votes: readonly ApprovalVotesTable[], request: ApprovalRequest): number {
  return votes.filter(
    (v) =>
      v.vote === 'approve' &&
      v.params_hash === request.params_hash &&
      v.dag_version === request.dag_version &&
      !(v.voter_kind === request.requested_by_kind && v.voter === request.requested_by),
  ).length;
}

/** pending → a final state, only if still pending. */
export async function closeRequest(
  q: Q,
  id: string,
  state: Exclude<ApprovalRequest['state'], 'pending'>,
  now: number,
): Promise<boolean> {
  const res = await q
    .updateTable('approval_requests')
    .set({ state, decided_at: now })
    .where('id', '=', id)
    .where('state', '=', 'pending')
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

export async function listVotes(q: Q, requestId: string) {
  return q
    .selectFrom('approval_votes')
    .selectAll()
    .where('request_id', '=', requestId)
    .orderBy('created_at')
    .execute();
}

/** Pending approval requests whose expiry has passed. */
export async function findExpired(q: Q, now: number): Promise<ApprovalRequest[]> {
  return q
    .selectFrom('approval_requests')
    .selectAll()
    .where('state', '=', 'pending')
    .where('kind', '=', 'approval')
    .where('expires_at', '<=', now)
    .execute();
}
