/**
 * What a claimed attempt needs to run: its run's facts (read by the claim itself) and the outputs of
 * its upstream tasks, read from the store (only its ancestors', never the whole run's), as a
 * `RunTracker` over those tasks for `runAttempt`. A task without upstream tasks starts without a
 * query.
 * @module
 */
import type { Kysely } from 'kysely';
import { ancestorsOf } from '../../dag/ancestors-of.ts';
import { getOrCreate } from '../../lib/get-or-create.ts';
import type { Database } from '../../store/database.ts';
import type { DagSource } from '../engine-types.ts';
import { RunTracker } from '../run-tracker.ts';
import { dagRefusal, type StartRefusal } from '../sql/find-start-refusal.ts';
import type { TaskState } from '../states.ts';
import type { ClaimedRun, FleetClaim } from './claim-ready.ts';

export type AttemptContext =
  | { readonly claim: FleetClaim; readonly tracker: RunTracker }
  | { readonly claim: FleetClaim; readonly refusal: StartRefusal };

/** One query per run whose claimed tasks have upstream tasks; none for the others. */
export async function loadAttemptContexts(
  q: Kysely<Database>,
  dags: DagSource,
  claims: readonly FleetClaim[],
): Promise<AttemptContext[]> {
  const byRun = new Map<string, { run: ClaimedRun; mine: FleetClaim[] }>();
  for (const c of claims) getOrCreate(byRun, c.runId, () => ({ run: c.run, mine: [] })).mine.push(c);
  const out: AttemptContext[] = [];
  for (const { run, mine } of byRun.values()) {
    const found = dags.find(run.env, run.dag_id);
    const refusal = dagRefusal(run, found);
    if (refusal || !found) {
      for (const claim of mine) out.push({ claim, refusal: refusal! });
      continue;
    }
    const dag = found.dag;
    const upstreamOf = new Map(mine.map((c) => [c.taskId, ancestorsOf(dag.tasks, c.taskId)]));
    const wanted = [...new Set([...upstreamOf.values()].flatMap((ids) => [...ids]))];
    const outputs = wanted.length
      ? await q
          .selectFrom('task_instances')
          .select(['task_id', 'state', 'output'])
          .where('run_id', '=', run.id)
          .where('task_id', 'in', wanted)
          .execute()
      : [];
    for (const claim of mine) {
      const ids = upstreamOf.get(claim.taskId)!;
      const rows = outputs.filter((o) => ids.has(o.task_id));
      const tracker = RunTracker.fromRows(run, dag, [
        ...rows.map((o) => ({ ...o, try_number: 0 })),
        { task_id: claim.taskId, state: 'running' as TaskState, try_number: claim.tryNumber, output: null },
      ]);
      out.push({ claim, tracker });
    }
  }
  return out;
}
