/**
 * The policy seam: what the gate asks (`PolicyRequest`) and what it gets back (`Decision`).
 *
 * Words:
 * - **policy**: one Cedar `permit` or `forbid`, identified by `file:line`.
 * - **decision**: the answer to one request: allow or deny, the determining policies, errors, reasons.
 * - **determining policies**: for an allow, the permits that matched; for a deny, the forbids that
 *   matched (none means the default deny).
 * @module
 */
import type { Principal } from '../identity/principal.ts';
import type { PolicyAction, RequestSource } from './cedar-names.ts';
import type { ScopeUsage } from './scope-usage.ts';

/** What a request is about. Every resource but `env` belongs to one DAG, whose policies then apply. */
export type PolicyResource =
  | { readonly kind: 'env'; readonly env: string }
  | { readonly kind: 'dag'; readonly env: string; readonly dagId: string }
  | {
      readonly kind: 'run';
      readonly env: string;
      readonly dagId: string;
      readonly runId: string;
      /** `User::"ana@example.com"` or `Service::"scheduler"` (see `principalRef`). */
      readonly requestedBy: string;
      readonly state?: string | undefined;
    }
  | {
      readonly kind: 'approvalRequest';
      readonly env: string;
      readonly dagId: string;
      readonly requestId: string;
      readonly requestedBy: string;
    };

/** Facts about the request, beyond who and what. Token facts come from `principal.token`. */
export interface PolicyContextInput {
  /** The run's validated params (defaults applied). Required for run actions (trigger, approve, …). */
  readonly params?: Readonly<Record<string, unknown>> | undefined;
  /** The decision time (inject a clock in tests). */
  readonly now: Date;
  readonly source: RequestSource;
}

export interface PolicyRequest {
  readonly principal: Principal;
  readonly action: PolicyAction;
  readonly resource: PolicyResource;
  readonly context: PolicyContextInput;
}

/** The answer to one request. A decision with errors can still allow (see `CedarPolicyEngine`). */
export interface Decision {
  readonly effect: 'allow' | 'deny';
  /** Determining policy ids, `file:line`. */
  readonly policies: readonly string[];
  /** Evaluation or request errors, each naming its policy when there is one. */
  readonly errors: readonly string[];
  /** Human-readable: `@reason` annotations of the determining policies, or why nothing allowed. */
  readonly reasons: readonly string[];
  /** Epoch ms of the decision (the context's `now`). */
  readonly decidedAt: number;
  /** The policy set generation that decided, for the audit record. */
  readonly generation: number;
}

/** A deny's explanation: the decision plus what would allow the request, where it can be told. */
export interface Explanation {
  readonly decision: Decision;
  readonly determining: readonly PolicySummary[];
  /** For a deny: permits whose scope covers the action and resource, and who they would allow. */
  readonly wouldAllow: readonly string[];
}

/** A loaded policy as explain and the CLI show it. */
export interface PolicySummary {
  readonly id: string;
  readonly effect: 'permit' | 'forbid';
  readonly text: string;
  readonly annotations: Readonly<Record<string, string>>;
}

/** The policy seam. `CedarPolicyEngine` is the default implementation. */
export interface PolicyEngine {
  /** Decides one request. Never throws for untrusted input: problems become a deny with errors. */
  decide(request: PolicyRequest): Decision;
  /** Decides and explains. Slower than `decide`; for the CLI, the UI and the API's explain endpoint. */
  explain(request: PolicyRequest): Explanation;
  /**
   * What the policies that can apply to this request read (context fields, groups), or undefined when
   * the engine cannot tell. Replay uses it to know whether a decision depends on facts the audit trail
   * does not keep in plaintext.
   */
  reads?(request: PolicyRequest): ScopeUsage | undefined;
  /**
   * Who may cast `request` (an `approve` on an approval request): the groups and people that the
   * permits name and that Cedar then allows, or undefined when the engine cannot tell.
   */
  approvers?(request: PolicyRequest): Approver[] | undefined;
}

/** A principal a permit names as an approver: `group` data-leads, `user` ana@example.com, or `anyone`. */
export interface Approver {
  readonly kind: 'group' | 'user' | 'service' | 'anyone';
  /** The group, user or service id; null for `anyone`. */
  readonly id: string | null;
}
