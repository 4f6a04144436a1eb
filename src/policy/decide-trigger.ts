/**
 * The three outcomes of a trigger, from two questions: may this principal `trigger` now (allow), else
 * may it `requestTrigger` (approval), else deny. The gate calls this and acts on `outcome`. An Airflow
 * unpause has the same three outcomes from `unpause` and `requestUnpause` (`decideUnpause`).
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

/** An unpause's three outcomes: `unpause` now, else `requestUnpause` (approval), else deny. */
export function decideUnpause(
  engine: PolicyEngine,
  request: Omit<PolicyRequest, 'action'> & { action?: PolicyRequest['action'] },
): {
  outcome: TriggerOutcome;
  decision: Decision;
  decisions: { unpause: Decision; requestUnpause?: Decision };
} {
  const unpause = engine.decide({ ...request, action: 'unpause' });
  if (unpause.effect === 'allow') return { outcome: 'allow', decision: unpause, decisions: { unpause } };
  const requestUnpause = engine.decide({ ...request, action: 'requestUnpause' });
  const outcome = requestUnpause.effect === 'allow' ? 'approval' : 'deny';
  const decision = outcome === 'approval' ? requestUnpause : mergeDenies(unpause, requestUnpause);
  return { outcome, decision, decisions: { unpause, requestUnpause } };
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
