/**
 * Chat and webhook events, read from the audit trail: the trail is written in the same transaction
 * as every change, so it is the outbox. Events: `approval.requested` (a run's request, or a DAG
 * action's: an Airflow unpause, with `run: null` and the request's `action`), `approval.closed` (approved,
 * denied, reviewed, expired, cancelled) and `run.<state>`. An event's id comes from its record's sequence
 * number, so a delivery sent again after a failure or a restart carries the same id.
 * @module
 */

import type { Airclutch } from '../../app/create-airclutch.ts';
import type { AuditRecord } from '../../audit/audit-types.ts';
import type { ApprovalView, RunView } from '../../gate/gate-types.ts';
import { toRunView } from '../../gate/views.ts';
import { approvalView } from '../../gate/vote.ts';

export interface ChatEvent {
  readonly id: string;
  readonly type: string;
  readonly ts: number;
  readonly data: Record<string, unknown>;
}

/** What a Slack approval message needs, beside the event. */
export interface ApprovalRequested extends ChatEvent {
  readonly type: 'approval.requested';
  /** `run` is null for a DAG action's request (an Airflow unpause: `approval.action`). */
  readonly data: { approval: ApprovalView; run: RunView | null; reasons: readonly string[] };
  readonly paramsSchema: unknown;
}

const CLOSING = new Set(['approved', 'denied', 'reviewed']);

/**
 * An approval request with its run (params masked as the DAG's schema says) and why it is needed.
 * A DAG action's request (an Airflow unpause) has no run.
 */
export async function approvalRequestData(
  ac: Pick<Airclutch, 'db' | 'registry'>,
  approvalId: string,
  fallbackReasons: readonly string[] = [],
): Promise<ApprovalRequested['data'] & { paramsSchema: unknown }> {
  const approval = await approvalView(ac, approvalId);
  const reasons = approval.reason ? [approval.reason] : fallbackReasons;
  if (approval.run_id === null) return { approval, run: null, reasons, paramsSchema: undefined };
  const row = await ac.db.kysely
    .selectFrom('runs')
    .selectAll()
    .where('id', '=', approval.run_id)
    .executeTakeFirstOrThrow();
  const paramsSchema = ac.registry.find(approval.env, approval.dag_id)?.dag.paramsJsonSchema;
  return {
    approval,
    run: toRunView(row, ac.registry),
    reasons,
    paramsSchema,
  };
}

/** The type of event a record stands for, if it is one chat tools hear about. Reads nothing. */
export function chatEventType(r: AuditRecord): string | undefined {
  const approvalId = r.resource?.approvalId;
  // A run's request (trigger), or a DAG action's (an Airflow unpause).
  if ((r.action === 'trigger' || r.action === 'unpause') && r.outcome === 'awaiting_approval' && approvalId)
    return 'approval.requested';
  if ((r.action === 'approval.expire' || r.action === 'approval.cancel') && approvalId)
    return 'approval.closed';
  const closing = r.decision?.effect === 'allow' && r.outcome !== null && CLOSING.has(r.outcome);
  if (closing && approvalId) return 'approval.closed';
  if (r.action === 'run.state' && r.resource?.runId) return `run.${r.outcome}`;
  return undefined;
}

/** The event of a record whose type `chatEventType` gave, with what receivers are sent. */
export async function chatEventOf(
  ac: Pick<Airclutch, 'db' | 'registry'>,
  r: AuditRecord,
  type: string,
): Promise<ChatEvent | ApprovalRequested> {
  const base = { id: `audit-${r.seq}`, ts: r.ts };
  const approvalId = r.resource?.approvalId ?? '';
  if (type === 'approval.requested') {
    const { paramsSchema, ...data } = await approvalRequestData(ac, approvalId, r.decision?.reasons ?? []);
    return { ...base, type, data, paramsSchema };
  }
  if (type === 'approval.closed') {
    const state =
      r.action === 'approval.expire' ? 'expired' : r.action === 'approval.cancel' ? 'cancelled' : r.outcome;
    return { ...base, type, data: { approval: await approvalView(ac, approvalId), state } };
  }
  const { runId, env, dagId } = r.resource ?? {};
  return { ...base, type, data: { runId, env, dagId, state: r.outcome, from: r.details?.from } };
}
