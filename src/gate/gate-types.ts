/**
 * The gate's words and shapes. Every path that starts or changes a run (API, UI, CLI, schedules,
 * DAG-to-DAG, chat, the Airflow bridge) calls one of the gate's functions with a `GateContext`: who
 * acts (a verified principal), from where, under which request id. The gate decides with Cedar,
 * records the decision in the audit trail (fail closed: no record, no action), and only then acts.
 *
 * Words:
 * - **outcome**: what a trigger became: `started` now, `awaiting_approval`, or refused (an error).
 * - **approval request**: a run awaiting approval: quorum, eligible voters (Cedar `approve`), expiry,
 *   bound to the params hash and DAG version.
 * - **break-glass**: on-call starts a run at once; it is flagged and needs a review afterwards.
 * @module
 */
import type { DagActionDelivery } from '../approvals/dag-action-delivery.ts';
import type { Principal } from '../identity/principal.ts';
import type { RequestSource } from '../policy/cedar-names.ts';
import type { Decision } from '../policy/policy-engine.ts';
import type { ApprovalRequestsTable, RunsTable } from '../store/database.ts';

export interface GateContext {
  readonly principal: Principal;
  readonly source: RequestSource;
  /** Correlates the response, the logs and the audit record. */
  readonly requestId: string;
}

export interface TriggerInput {
  readonly env?: string | undefined;
  readonly dagId: string;
  readonly params?: unknown;
  readonly note?: string | undefined;
  /** Schedule and backfill runs. */
  readonly logicalDate?: number | undefined;
  readonly scheduleKey?: string | undefined;
}

/** A run as callers see it: params parsed, times as epoch ms. */
export type RunView = Omit<RunsTable, 'params' | 'break_glass'> & {
  params: unknown;
  break_glass: boolean;
  /** False once the run's DAG is no longer loaded (deleted, renamed, broken): its history stays. */
  dag_loaded: boolean;
};

export type ApprovalView = ApprovalRequestsTable & {
  /** A DAG action's request, once approved: how far the action got (pending, done, failed). */
  readonly delivery?: DagActionDelivery | null;
  readonly votes: ReadonlyArray<{
    voter: string;
    voter_kind: string;
    vote: string;
    comment: string | null;
    created_at: number;
  }>;
};

export type TriggerResult =
  | { readonly outcome: 'started'; readonly run: RunView; readonly decision: Decision }
  | {
      readonly outcome: 'awaiting_approval';
      readonly run: RunView;
      readonly approval: ApprovalView;
      readonly decision: Decision;
    };

/** What the caller may do with a DAG right now: the three trigger outcomes. */
export type TriggerAbility = 'allow' | 'approval' | 'deny';
