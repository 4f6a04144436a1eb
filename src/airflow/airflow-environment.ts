/** One Airflow-backed environment as the executor sees it: its client and its poll intervals. @module */
import type { AirflowClient } from './airflow-client.ts';

export interface AirflowEnvironment {
  readonly client: AirflowClient;
  /** First poll of a remote run; the interval backs off while nothing changes. */
  readonly pollIntervalMs: number;
  readonly maxPollIntervalMs: number;
}
