/**
 * The three outcomes of a trigger, from two questions: may this principal `trigger` now (allow), else
 * may it `requestTrigger` (approval), else deny. The gate calls this and acts on `outcome`.
 * @module
 */
import type { Decision, PolicyEngine, PolicyRequest } from './policy-engine.ts';

export type TriggerOutcome = 'allow' | 'approval' | 'deny';

export interface TriggerDecision {
  readonly outcome: TriggerOutcome;
  /** The decision the outcome rests on: `trigger`'s for allow, `requestTrigger`'s otherwise. */
  readonly decision: Decision;
  /** Both answers, for the audit record: `trigger` always, `requestTrigger` when it was asked. */
  readonly decisions: { readonly trigger: Decision; readonly requestTrigger?: Decision | undefined };
}

/**
 * Decides a trigger. `request.action` is ignored: both actions are asked in turn.
 *
 * @example
 * const { outcome, decision } = decideTrigger(engine, { principal, resource, context, action: 'trigger' });
 * if (outcome === 'approval') createAwaitingApproval(decision);
 */
export function decideTrigger(
  engine: PolicyEngine,
  request: Omit<PolicyRequest, 'action'> & { action?: PolicyRequest['action'] },
): TriggerDecision {
  const trigger = engine.decide({ ...request, action: 'trigger' });
  if (trigger.effect === 'allow') return { outcome: 'allow', decision: trigger, decisions: { trigger } };
  const requestTrigger = engine.decide({ ...request, action: 'requestTrigger' });
  const outcome = requestTrigger.effect === 'allow' ? 'approval' : 'deny';
  const decision = outcome === 'approval' ? requestTrigger : mergeDenies(trigger, requestTrigger);
  return { outcome, decision, decisions: { trigger, requestTrigger } };
}

function mergeDenies(a: Decision, b: Decision): Decision {
  const uniq = (xs: readonly string[]) => [...new Set(xs)];
  return {
    ...b,
    policies: uniq([...a.policies, ...b.policies]),
    errors: uniq([...a.errors, ...b.errors]),
    reasons: uniq([...a.reasons, ...b.reasons]),
  };
}
