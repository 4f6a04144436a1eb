/** Turns principals, decisions and engine transitions into audit events. @module */
import { actorOf } from '../audit/actor-of.ts';
import type { AuditDecision, AuditEvent } from '../audit/audit-types.ts';
import type { EngineTransition } from '../engine/engine-types.ts';
import type { Decision, PolicyResource } from '../policy/policy-engine.ts';
import type { GateContext } from './gate-types.ts';

export function auditDecision(effect: string, d: Decision): AuditDecision {
  return {
    effect,
    policies: [...d.policies],
    reasons: [...d.reasons, ...d.errors.map((e) => `error: ${e}`)],
  };
}

/** The record of a request Cedar denied: who asked for what, on which resource, and why not. */
export function deniedEvent(
  ctx: GateContext,
  action: string,
  resource: PolicyResource,
  decision: Decision,
): AuditEvent {
  return {
    action,
    actor: actorOf(ctx.principal),
    resource: {
      env: resource.env,
      ...('dagId' in resource ? { dagId: resource.dagId } : {}),
      ...('runId' in resource ? { runId: resource.runId } : {}),
    },
    source: ctx.source,
    requestId: ctx.requestId,
    decision: auditDecision('deny', decision),
    outcome: 'denied',
  };
}

/**
 * The engine's lifecycle records: runs starting and ending, and tasks starting and ending. Tasks
 * becoming queued, pending or up for retry are implied by these and left out, so a 10,000-task
 * run writes two records a task, not four.
 */
export function transitionEvents(transitions: readonly EngineTransition[]): AuditEvent[] {
  const out: AuditEvent[] = [];
  for (const t of transitions) {
    if (t.kind === 'task' && (t.to === 'queued' || t.to === 'pending')) continue;
    out.push({
      action: t.kind === 'run' ? 'run.state' : 'task.state',
      actor: { kind: 'service', id: 'engine' },
      source: 'engine',
      resource: {
        env: t.env,
        dagId: t.dagId,
        runId: t.runId,
        ...(t.kind === 'task' ? { taskId: t.taskId } : {}),
      },
      outcome: t.to,
      // Keys in canonical order (code, error, from, try), so the record's JSON needs no sort.
      details: {
        ...(t.kind === 'run' && t.code ? { code: t.code } : {}),
        ...(t.error ? { error: t.error } : {}),
        from: t.from,
        ...(t.kind === 'task' && t.tryNumber ? { try: t.tryNumber } : {}),
      },
    });
  }
  return out;
}
