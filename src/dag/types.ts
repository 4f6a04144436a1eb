/**
 * Words of the DAG model.
 * - **DAG**: a named graph of tasks with a params schema, defined in TypeScript and living in an environment.
 * - **task**: one node: a function (`task`) or a child process (`shell`).
 * - **run**: one execution of a DAG with fixed params.
 * - **attempt**: one try of one task in one run.
 * - **trigger rule**: when a task may start, given how its upstream tasks ended.
 * @module
 */
import type { StandardSchemaV1 } from './standard-schema.ts';

export type TriggerRule = 'all_success' | 'all_done' | 'one_failed' | 'none_failed';

/** The typed params of a DAG: the schema's output, or an empty object when it declares none. */
export type ParamsOf<S> = S extends StandardSchemaV1
  ? StandardSchemaV1.InferOutput<S>
  : Record<string, never>;

/** A reference to a task, returned by `task()` and `shell()`; carries the task's output type. */
export interface TaskHandle<T> {
  readonly taskId: string;
  /** Type-only: never set at run time. */
  readonly __output?: T;
}

export type TaskRef = TaskHandle<unknown> | string;

export interface RetryOptions {
  /** How many times a failed attempt is retried (default 0). */
  retries?: number;
  /** The first retry's delay; later ones double (default 1 s). */
  retryDelayMs?: number;
  /** The cap on the delay between retries (default 10 min). */
  maxRetryDelayMs?: number;
  retryBackoff?: 'exponential' | 'fixed';
  /** An attempt running longer than this is stopped and fails with `TASK_TIMEOUT`. */
  timeoutMs?: number;
}

export interface TaskOptions extends RetryOptions {
  /** Upstream tasks: this task waits for them, and its trigger rule reads how they ended. */
  after?: readonly TaskRef[];
  triggerRule?: TriggerRule;
  description?: string;
  /**
   * The worker pool that runs it: with a fleet (`airclutch worker --queues gpu`), only workers
   * claiming this queue run the task. Default `default`.
   */
  queue?: string;
}

export interface ShellTaskOptions<P> extends TaskOptions {
  /** A string runs through `/bin/sh -c`; an array runs directly, without a shell. */
  command: string | readonly string[] | ((ctx: TaskContext<P>) => string | readonly string[]);
  /**
   * The command runs with a clean environment: PATH, HOME, LANG, TZ and LC_* from the server, the
   * run's facts (AIRCLUTCH_ENV, AIRCLUTCH_DAG_ID, AIRCLUTCH_RUN_ID, AIRCLUTCH_TASK_ID,
   * AIRCLUTCH_TRY_NUMBER, AIRCLUTCH_LOGICAL_DATE), and what the task declares here: fixed values...
   */
  env?: Record<string, string>;
  /** ...and the names of server variables to pass through (when set). `AIRCLUTCH_*` may not be passed. */
  passEnv?: readonly string[];
  cwd?: string;
}

/** What a task function receives. */
export interface TaskContext<P> {
  readonly params: P;
  readonly env: string;
  readonly dagId: string;
  readonly runId: string;
  readonly taskId: string;
  /** 1 for the first attempt. */
  readonly tryNumber: number;
  /** This try's id in the store (each retry gets a new one). */
  readonly attemptId: number;
  /**
   * `${runId}/${taskId}`: stable across retries of this task in this run. Tasks run at least once,
   * so key side effects by it (an upsert, an `Idempotency-Key` header) to make them happen once.
   */
  readonly idempotencyKey: string;
  readonly maxTries: number;
  readonly logicalDate: Date | null;
  /** Aborted on timeout, cancellation and shutdown: pass it to fetch, child processes, loops. */
  readonly signal: AbortSignal;
  /** Appends a line to this attempt's stored log. */
  log(...args: unknown[]): void;
  /** The return value of an upstream task (like Airflow's XCom). */
  upstream<T>(task: TaskHandle<T>): T;
  upstream(taskId: string): unknown;
  /**
   * Starts another DAG as this DAG's service principal, through the gate: policy decides as for
   * anyone else. Resolves with the new run's id and the gate's outcome.
   */
  trigger(
    dagId: string,
    params?: Record<string, unknown>,
  ): Promise<{ runId: string | null; outcome: string }>;
}

export interface DagOptions<S extends StandardSchemaV1 | undefined> {
  id: string;
  description?: string;
  owner?: string;
  /** Several owners (an Airflow DAG's `owners`); policies read them as `resource.owners`. Defaults to `[owner]`. */
  owners?: readonly string[];
  tags?: readonly string[];
  /** A cron expression (5 or 6 fields) or a preset such as `@daily`; omit for manual-only DAGs. */
  schedule?: string | null;
  /** IANA time zone for the schedule (default UTC). */
  timezone?: string;
  /** Create runs for schedule ticks missed while Airclutch was down (default false: only the latest). */
  catchup?: boolean;
  /** Params schema (zod 4 or any Standard Schema with JSON Schema support). */
  params?: S;
  /** Runs of this DAG that may be running at once (default from config, 16). */
  maxActiveRuns?: number;
  /** Defaults for every task in this DAG. */
  defaults?: RetryOptions;
  /** How runs that need approval are approved: overrides the environment's rule. */
  approvals?: ApprovalRule;
}

/** Who approves a run that needs approval is Cedar's `approve`; this says how many, and for how long. */
export interface ApprovalRule {
  /** Distinct eligible approvers needed (never the requester). Default 1. */
  quorum?: number;
  /** After this, the request expires and the run never starts. Default 24 h. */
  expiresAfterMs?: number;
}

/** A task as the engine sees it, with every default filled in. */
export interface TaskDefinition {
  readonly id: string;
  readonly kind: 'function' | 'shell';
  readonly fn?: ((ctx: TaskContext<any>) => unknown) | undefined;
  readonly shell?: ShellTaskOptions<any> | undefined;
  readonly after: readonly string[];
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly maxRetryDelayMs: number;
  readonly retryBackoff: 'exponential' | 'fixed';
  readonly timeoutMs: number | undefined;
  readonly triggerRule: TriggerRule;
  readonly description: string | undefined;
  readonly queue: string;
}
