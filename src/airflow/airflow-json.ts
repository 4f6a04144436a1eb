/**
 * Airflow's JSON answers as the bridge's types, for both API versions (`v2` names and `v1` names
 * where they differ: `timetable_summary` / `schedule_interval`, `last_parsed` / `last_parsed_time`).
 * @module
 */
import type { RemoteDag, RemoteRun, RemoteRunState, RemoteTaskInstance } from './airflow-types.ts';

/** Airflow's error `detail` as text: a string, Airflow 3's object (a unique-constraint 409), or v1's title. */
export function detailOf(json: unknown): string {
  const d =
    (json as { detail?: unknown; title?: unknown } | undefined)?.detail ??
    (json as { title?: unknown } | undefined)?.title;
  if (typeof d === 'string') return d;
  if (d === undefined) return 'no detail';
  return JSON.stringify(d);
}

export function toTaskInstance(ti: Record<string, unknown>): RemoteTaskInstance {
  return {
    taskId: String(ti.task_id),
    state: typeof ti.state === 'string' ? ti.state : null,
    tryNumber: typeof ti.try_number === 'number' ? ti.try_number : 0,
  };
}

function strOrNull(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

export function toDag(d: Record<string, unknown>): RemoteDag {
  const tags = Array.isArray(d.tags)
    ? d.tags.map((t) => (typeof t === 'string' ? t : String((t as { name?: unknown }).name)))
    : [];
  const si = d.schedule_interval as { value?: unknown } | null | undefined;
  const schedule = strOrNull(d.timetable_summary) ?? (si && typeof si.value === 'string' ? si.value : null);
  return {
    dagId: String(d.dag_id),
    description: strOrNull(d.description),
    owners: Array.isArray(d.owners) ? d.owners.map(String) : [],
    tags,
    schedule,
    isPaused: d.is_paused === true,
    hasImportErrors: d.has_import_errors === true,
    fileloc: typeof d.fileloc === 'string' ? d.fileloc : '',
    lastParsed: strOrNull(d.last_parsed) ?? strOrNull(d.last_parsed_time),
    ...(d.params && typeof d.params === 'object' ? { params: d.params as Record<string, unknown> } : {}),
  };
}

const RUN_STATES: readonly RemoteRunState[] = ['queued', 'running', 'success', 'failed'];

export function toRun(r: Record<string, unknown>): RemoteRun {
  const state = RUN_STATES.includes(r.state as RemoteRunState) ? (r.state as RemoteRunState) : 'queued';
  return {
    dagId: String(r.dag_id),
    runId: String(r.dag_run_id),
    state,
    note: strOrNull(r.note),
    logicalDate: strOrNull(r.logical_date),
    startDate: strOrNull(r.start_date),
    endDate: strOrNull(r.end_date),
  };
}
