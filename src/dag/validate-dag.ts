/** Structural checks on a DAG: unknown dependencies, cycles, schedule, time zone and params schema. @module */
import { Cron } from 'croner';
import type { Dag } from './dag.ts';

/** Returns every problem found, as sentences; empty when the DAG is sound. */
export function validateDag(d: Dag<any>): string[] {
  const problems: string[] = [];
  if (d.tasks.size === 0) problems.push('it has no tasks');
  for (const t of d.tasks.values()) {
    for (const up of t.after) {
      if (!d.tasks.has(up)) problems.push(`task ${t.id} depends on unknown task ${up}`);
      if (up === t.id) problems.push(`task ${t.id} depends on itself`);
    }
  }
  const cycle = findCycle(d);
  if (cycle) problems.push(`tasks form a cycle: ${cycle.join(' -> ')}`);
  const { schedule, timezone } = d.options;
  if (timezone !== undefined && !isValidTimeZone(timezone)) problems.push(`time zone ${timezone} is unknown`);
  if (schedule) {
    try {
      new Cron(schedule, { timezone: timezone ?? 'UTC', paused: true });
    } catch (e) {
      problems.push(`schedule ${JSON.stringify(schedule)} is invalid: ${(e as Error).message}`);
    }
  }
  if (d.options.maxActiveRuns !== undefined && !(d.options.maxActiveRuns >= 1)) {
    problems.push('maxActiveRuns must be at least 1');
  }
  const params = paramsProblem(d);
  if (params) problems.push(params);
  return problems;
}

const USE_Z = "use zod 4.2 or later, as `import { z } from 'airclutch/zod'` gives";

/**
 * Params are read through Standard Schema (validation) and Standard JSON Schema (the trigger form,
 * unknown-param checks and the Cedar schema of `context.params`). A schema without the second (zod 3
 * has none) would make every param look unknown and every policy that reads one fail to load.
 */
function paramsProblem(d: Dag<any>): string | undefined {
  const { params } = d.options;
  if (params === undefined) return undefined;
  const std = (
    params as { '~standard'?: { vendor?: unknown; validate?: unknown; jsonSchema?: { input?: unknown } } }
  )['~standard'];
  if (typeof std?.validate !== 'function') return `params is not a schema Airclutch can read: ${USE_Z}`;
  if (typeof std.jsonSchema?.input !== 'function')
    return `params is a ${String(std.vendor)} schema that cannot give its JSON Schema, which Airclutch needs for the trigger form, unknown params and the policies' context.params (zod 3 cannot): ${USE_Z}`;
  let schema: Record<string, unknown>;
  try {
    schema = d.paramsJsonSchema;
  } catch (e) {
    return `params cannot be written as JSON Schema: ${(e as Error).message}`;
  }
  if (schema.type !== 'object')
    return 'params must be an object schema, such as `z.object({ rows: z.number() })`';
  return undefined;
}

function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Depth-first search for a back edge; returns the cycle's task ids, first repeated at the end. */
function findCycle(d: Dag<any>): string[] | null {
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (id: string): string[] | null => {
    const s = state.get(id);
    if (s === 'done') return null;
    if (s === 'visiting') return [...path.slice(path.indexOf(id)), id];
    state.set(id, 'visiting');
    path.push(id);
    for (const up of d.tasks.get(id)?.after ?? []) {
      if (!d.tasks.has(up)) continue;
      const c = visit(up);
      if (c) return c;
    }
    path.pop();
    state.set(id, 'done');
    return null;
  };
  for (const id of d.tasks.keys()) {
    const c = visit(id);
    if (c) return c.reverse();
  }
  return null;
}
