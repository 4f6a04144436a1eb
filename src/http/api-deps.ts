/** What the API routes are built from: Airclutch itself, the metrics, and the open log streams. @module */
import type { Airclutch } from '../app/create-airclutch.ts';
import type { HttpMetrics } from './http-metrics.ts';

export interface ApiDeps {
  readonly ac: Airclutch;
  readonly metrics: HttpMetrics;
  /** Aborted when the server closes, so that followed log streams end and close() never hangs. */
  readonly closing: AbortSignal;
  /** Responses still streaming; the server waits for them (after aborting) before it closes. */
  readonly streams: Set<Promise<void>>;
  /** How often a followed log stream polls for new lines. */
  readonly logPollMs: number;
}
