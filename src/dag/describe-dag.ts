/** Plain, JSON-ready descriptions of loaded DAGs, shared by the CLI and the HTTP API. @module */
import { isAbsolute, relative } from 'node:path';
import { Cron } from 'croner';
import type { LoadedDag } from './load-dag-file.ts';

export interface DagSummary {
  id: string;
  env: string;
  schedule: string | null;
  tasks: number;
  owner: string | null;
  tags: string[];
  file: string;
}

export interface DagDetails extends DagSummary {
  description: string | null;
  version: string;
  definedAt: string | null;
  timezone: string;
  catchup: boolean;
  maxActiveRuns: number | null;
  /** The next fire times (ISO, UTC) after `now`, computed in the DAG's time zone. */
  nextRuns: string[];
  params: Record<string, unknown>;
  taskDetails: {
    id: string;
    kind: 'function' | 'shell';
    after: string[];
    triggerRule: string;
    retries: number;
    retryDelayMs: number;
    maxRetryDelayMs: number;
    retryBackoff: string;
    timeoutMs: number | null;
    description: string | null;
  }[];
}

/**
 * One line of `dags list`. Files are shown relative to `rootDir`.
 *
 * @example
 * registry.list().map((l) => summarizeDag(l, config.rootDir));
 */
export function summarizeDag(l: LoadedDag, rootDir: string): DagSummary {
  const o = l.dag.options;
  return {
    id: l.dag.id,
    env: l.env,
    schedule: o.schedule ?? null,
    tasks: l.dag.tasks.size,
    owner: o.owner ?? null,
    tags: [...(o.tags ?? [])],
    // Local DAG files are absolute paths; an Airflow DAG's "file" is its Airflow URL and fileloc.
    file: isAbsolute(l.file) ? relative(rootDir, l.file) : l.file,
  };
}

/**
 * Everything `dags show` prints: tasks with their dependencies and retry policy, the params' JSON
 * Schema, and the next `fireTimes` schedule ticks after `now`.
 *
 * @example
 * describeDag(registry.get('dev', 'nightly_revenue'), config.rootDir, new Date());
 */
export function describeDag(l: LoadedDag, rootDir: string, now: Date, fireTimes = 3): DagDetails {
  const o = l.dag.options;
  const timezone = o.timezone ?? 'UTC';
  const nextRuns = o.schedule
    ? new Cron(o.schedule, { timezone, paused: true }).nextRuns(fireTimes, now).map((d) => d.toISOString())
    : [];
  return {
    ...summarizeDag(l, rootDir),
    description: o.description ?? null,
    version: l.version,
    definedAt: l.definedAt ? `${relative(rootDir, l.definedAt.file)}:${l.definedAt.line}` : null,
    timezone,
    catchup: o.catchup ?? false,
    maxActiveRuns: o.maxActiveRuns ?? null,
    nextRuns,
    params: l.dag.paramsJsonSchema,
    taskDetails: [...l.dag.tasks.values()].map((t) => ({
      id: t.id,
      kind: t.kind,
      after: [...t.after],
      triggerRule: t.triggerRule,
      retries: t.retries,
      retryDelayMs: t.retryDelayMs,
      maxRetryDelayMs: t.maxRetryDelayMs,
      retryBackoff: t.retryBackoff,
      timeoutMs: t.timeoutMs ?? null,
      description: t.description ?? null,
    })),
  };
}
