/**
 * What the bridge reads from Airflow, in one shape for both API versions.
 *
 * Glossary: a *remote DAG* is a DAG that Airflow parses and schedules; a *remote run* is its DAG run,
 * named by a `dag_run_id` that Airclutch chose, so that delivering it twice is harmless; a *task
 * instance* is one task of a remote run (shown as a task of the Airclutch run).
 * @module
 */

export type AirflowApiVersion = 'v1' | 'v2';

export interface RemoteDag {
  readonly dagId: string;
  readonly description: string | null;
  readonly owners: readonly string[];
  readonly tags: readonly string[];
  /** Cron text or Airflow's timetable description; null for manual-only DAGs. */
  readonly schedule: string | null;
  readonly isPaused: boolean;
  readonly hasImportErrors: boolean;
  readonly fileloc: string;
  readonly lastParsed: string | null;
  /** Airflow's serialized params (from the details endpoint). */
  readonly params?: Readonly<Record<string, unknown>>;
}

export type RemoteRunState = 'queued' | 'running' | 'success' | 'failed';

export interface RemoteRun {
  readonly dagId: string;
  readonly runId: string;
  readonly state: RemoteRunState;
  readonly note: string | null;
  readonly logicalDate: string | null;
  readonly startDate: string | null;
  readonly endDate: string | null;
}

export interface RemoteTaskInstance {
  readonly taskId: string;
  /** Airflow's task instance state; null before the scheduler looked at it. */
  readonly state: string | null;
  readonly tryNumber: number;
}

export interface TriggerRequest {
  readonly dagId: string;
  /** Chosen by Airclutch: a retry of the same trigger is the same remote run. */
  readonly runId: string;
  readonly conf: Record<string, unknown>;
  /** Names the verified requester and approvers. */
  readonly note: string;
  /**
   * The run's logical date if it has one of its own (a backfill tick, or one a proxy caller chose),
   * else the decision's time. v1 always sends it (Airflow 2 needs a unique logical date per run).
   */
  readonly logicalDate: string;
  /** True when the run has a logical date of its own: v2 sends it; otherwise v2 sends null (run_after = now). */
  readonly logicalDateChosen?: boolean;
}
