/**
 * PostgreSQL: the audit records an engine cycle's last statement appends itself (`completeAndClaim`
 * with `records`), in the order `EngineHooks.onTransitions` would get their transitions: each
 * completion's end and what it settled, the transitions the cycle already made, then the claims,
 * whose try numbers the statement decides. The statement places only the records of changes it made.
 * @module
 */
import { claimTransition } from './claim-transition.ts';
import type { EngineHooks, EngineTransition, UnplacedTransition } from './engine-types.ts';
import { type Completion, type planCompletion, taskEvents } from './plan-completion.ts';
import type { RunTracker } from './run-tracker.ts';
import type { StatementRecord, TaskClaim } from './sql/complete-and-claim.ts';

export function statementRecords(
  recordTexts: NonNullable<EngineHooks['recordTexts']>,
  trackerOf: (runId: string) => RunTracker,
  step: {
    readonly completions: readonly Completion[];
    readonly plans: ReadonlyArray<ReturnType<typeof planCompletion>>;
    /** Transitions the cycle already made: their records are placed whatever the statement does. */
    readonly made: readonly EngineTransition[];
    readonly claims: readonly TaskClaim[];
  },
): StatementRecord[] {
  const unplaced: UnplacedTransition[] = [];
  const srcs: Array<number | null> = [];
  const claimOf: Array<TaskClaim | null> = [];
  const add = (transition: EngineTransition, src: number | null, claim: TaskClaim | null) => {
    unplaced.push({ transition, tryFromStore: claim !== null });
    srcs.push(src);
    claimOf.push(claim);
  };
  for (const [i, c] of step.completions.entries()) {
    const { completion, downstream } = step.plans[i]!;
    const { runId, env, dagId } = c.tracker.info;
    const { taskId, tryNumber } = c;
    const [from, to, error] = ['running' as const, completion.taskState, completion.error];
    add({ kind: 'task', runId, env, dagId, taskId, from, to, tryNumber, error }, completion.attemptId, null);
    for (const t of taskEvents(c.tracker, downstream)) add(t, completion.attemptId, null);
  }
  for (const t of step.made) add(t, null, null);
  for (const k of step.claims) {
    // The try number 1 is a stand-in: the statement writes the one the claim gives.
    add(claimTransition(trackerOf(k.runId).info, k.taskId, 1), null, k);
  }
  const out: StatementRecord[] = [];
  for (const [i, text] of recordTexts(unplaced).entries())
    if (text) out.push({ text, src: srcs[i] ?? null, claim: claimOf[i] ?? null });
  return out;
}
