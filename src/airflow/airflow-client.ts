/**
 * The bridge's HTTP client for one Airflow deployment, for the `v2` (Airflow 3.x) and `v1`
 * (Airflow 2.x) REST APIs. Every failure becomes an `AirclutchError` with a stable code. Calls that
 * are safe to repeat (reads, state patches, a trigger that carries Airclutch's run id) are retried
 * with exponential backoff on network errors, timeouts and 5xx; a 401 refreshes the token once and
 * retries once. A trigger whose answer was lost is reconciled by its run id (`trigger-run.ts`): it
 * is never created twice, and never reported as started when it was not.
 * @module
 */
import { AirclutchError } from '../lib/errors.ts';
import type { AirflowAuth } from './airflow-auth.ts';
import { isRetryable, networkError, statusError } from './airflow-errors.ts';
import { toDag, toRun, toTaskInstance } from './airflow-json.ts';
import type {
  AirflowApiVersion,
  RemoteDag,
  RemoteRun,
  RemoteTaskInstance,
  TriggerRequest,
} from './airflow-types.ts';
import { TriggerAnswers } from './trigger-answers.ts';
import { triggerRun } from './trigger-run.ts';

export interface AirflowClientOptions {
  readonly baseUrl: string;
  readonly api: AirflowApiVersion;
  readonly auth: AirflowAuth;
  readonly requestTimeoutMs?: number;
  readonly retries?: number;
  readonly retryBaseMs?: number;
  readonly pageSize?: number;
  /** Waits between retries; injectable so tests control time. */
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface CallOptions {
  /** Repeat on network errors, timeouts and 5xx. */
  readonly safe: boolean;
  readonly body?: unknown;
  readonly query?: Record<string, string | number | boolean>;
  /** Statuses that are answers, not errors (404 on a lookup). */
  readonly accept?: readonly number[];
}

export interface Answer {
  readonly status: number;
  readonly json: unknown;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class AirflowClient {
  readonly api: AirflowApiVersion;
  readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryBaseMs: number;
  private readonly pageSize: number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Airflow's answers to delivered triggers, for the proxy to pass back unchanged. */
  readonly triggerAnswers = new TriggerAnswers();

  constructor(private readonly opts: AirflowClientOptions) {
    this.api = opts.api;
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.retries = opts.retries ?? 3;
    this.retryBaseMs = opts.retryBaseMs ?? 500;
    this.pageSize = opts.pageSize ?? 100;
    this.sleep = opts.sleep ?? defaultSleep;
  }

  get auth(): AirflowAuth {
    return this.opts.auth;
  }

  /** Airflow's version, from the unauthenticated `/version` endpoint, and the `Date` header (for clock skew). */
  async version(): Promise<{ version: string; date: number | undefined }> {
    const res = await this.send('GET', '/version', { safe: true }, false);
    const v = (res.json as { version?: unknown }).version;
    return { version: typeof v === 'string' ? v : 'unknown', date: res.date };
  }

  /**
   * Checks that the configured API matches the server: Airflow 3.x serves `v2`, 2.x serves `v1`.
   * A v1 client against Airflow 3 finds no `/api/v1/version` at all, and says so.
   */
  async checkVersion(): Promise<string> {
    let version: string;
    try {
      ({ version } = await this.version());
    } catch (e) {
      if (e instanceof AirclutchError && e.code === 'AIRFLOW_REFUSED' && e.details?.status === 404) {
        const other = this.api === 'v1' ? 'v2' : 'v1';
        throw new AirclutchError(
          'AIRFLOW_VERSION_MISMATCH',
          `${this.baseUrl} has no /api/${this.api}/version: it does not serve the ${this.api} API; set airflow.api to '${other}'`,
          { details: { configured: this.api } },
        );
      }
      throw e;
    }
    const major = Number.parseInt(version, 10);
    const expected = major >= 3 ? 'v2' : major === 2 ? 'v1' : undefined;
    if (expected && expected !== this.api) {
      throw new AirclutchError(
        'AIRFLOW_VERSION_MISMATCH',
        `${this.baseUrl} runs Airflow ${version}, which serves the ${expected} API, but airflow.api is '${this.api}': set it to '${expected}'`,
        { details: { configured: this.api, detected: expected, version } },
      );
    }
    return version;
  }

  /** Every DAG Airflow knows, page by page. */
  async listDags(): Promise<RemoteDag[]> {
    const out: RemoteDag[] = [];
    for (let offset = 0; ; offset += this.pageSize) {
      const res = await this.call('GET', '/dags', { safe: true, query: { limit: this.pageSize, offset } });
      const page = res.json as { dags?: Record<string, unknown>[]; total_entries?: number };
      const dags = page.dags ?? [];
      out.push(...dags.map((d) => toDag(d)));
      if (dags.length < this.pageSize || out.length >= (page.total_entries ?? 0)) return out;
    }
  }

  /** One DAG with its params (the details endpoint). */
  async dagDetails(dagId: string): Promise<RemoteDag> {
    const res = await this.call('GET', `/dags/${enc(dagId)}/details`, { safe: true });
    return toDag(res.json as Record<string, unknown>);
  }

  /** The remote run, or undefined when Airflow has none with that id. */
  async getRun(dagId: string, runId: string): Promise<RemoteRun | undefined> {
    const res = await this.call('GET', `/dags/${enc(dagId)}/dagRuns/${enc(runId)}`, {
      safe: true,
      accept: [404],
    });
    return res.status === 404 ? undefined : toRun(res.json as Record<string, unknown>);
  }

  /**
   * Creates the remote run, exactly once (`trigger-run.ts`): a lost answer is reconciled by the
   * run id, and Airflow's answer is kept for the proxy (`triggerAnswers`).
   */
  triggerRun(t: TriggerRequest): Promise<RemoteRun> {
    return triggerRun(
      {
        api: this.api,
        retries: this.retries,
        call: (method, path, o) => this.call(method, path, o),
        sleep: this.sleep,
        backoff: (attempt) => this.backoff(attempt),
      },
      this.triggerAnswers,
      t,
    );
  }

  async taskInstances(dagId: string, runId: string): Promise<RemoteTaskInstance[]> {
    const res = await this.call('GET', `/dags/${enc(dagId)}/dagRuns/${enc(runId)}/taskInstances`, {
      safe: true,
    });
    const tis = (res.json as { task_instances?: Record<string, unknown>[] }).task_instances ?? [];
    return tis.map(toTaskInstance);
  }

  /**
   * The queued and running runs of these DAGs, in one call per page (`POST …/dags/~/dagRuns/list`,
   * in both APIs), keyed by `dag_id/dag_run_id`. A followed run absent from it has ended (or is gone).
   */
  async activeRuns(dagIds: readonly string[]): Promise<Map<string, RemoteRun>> {
    const out = new Map<string, RemoteRun>();
    if (!dagIds.length) return out;
    const pages = this.pages('/dags/~/dagRuns/list', 'dag_runs', {
      dag_ids: [...dagIds],
      states: ['queued', 'running'],
    });
    for await (const r of pages) {
      const run = toRun(r);
      out.set(runKey(run.dagId, run.runId), run);
    }
    return out;
  }

  /**
   * The task instances of these runs, in one call per page (`POST …/dags/~/dagRuns/~/taskInstances/list`,
   * in both APIs), keyed by `dag_id/dag_run_id`.
   */
  async taskInstancesOfRuns(
    runs: readonly { dagId: string; runId: string }[],
  ): Promise<Map<string, RemoteTaskInstance[]>> {
    const out = new Map<string, RemoteTaskInstance[]>();
    if (!runs.length) return out;
    const pages = this.pages('/dags/~/dagRuns/~/taskInstances/list', 'task_instances', {
      dag_ids: [...new Set(runs.map((r) => r.dagId))],
      dag_run_ids: runs.map((r) => r.runId),
    });
    for await (const ti of pages) {
      const key = runKey(String(ti.dag_id), String(ti.dag_run_id));
      const list = out.get(key) ?? [];
      out.set(key, list);
      list.push(toTaskInstance(ti));
    }
    return out;
  }

  /** The items of a batch list endpoint, page by page (`page_limit`, `page_offset`). */
  private async *pages(
    path: string,
    field: string,
    filter: Record<string, unknown>,
  ): AsyncGenerator<Record<string, unknown>> {
    // Airflow caps a page at its `maximum_page_limit`, which may be below ours: the next page starts
    // after what came, and the end is the total (or an empty page).
    for (let offset = 0; ; ) {
      const body = { ...filter, page_limit: this.pageSize, page_offset: offset };
      const res = await this.call('POST', path, { safe: true, body });
      const page = res.json as Record<string, unknown> & { total_entries?: number };
      const items = (page[field] as Record<string, unknown>[] | undefined) ?? [];
      yield* items;
      offset += items.length;
      if (items.length === 0 || offset >= (page.total_entries ?? 0)) return;
    }
  }

  /** A task instance's log for one try, as text. */
  async taskLog(dagId: string, runId: string, taskId: string, tryNumber: number): Promise<string> {
    const res = await this.call(
      'GET',
      `/dags/${enc(dagId)}/dagRuns/${enc(runId)}/taskInstances/${enc(taskId)}/logs/${Math.max(1, tryNumber)}`,
      {
        safe: true,
        query: { full_content: true },
      },
    );
    const content = (res.json as { content?: unknown }).content;
    if (typeof content === 'string') return content;
    if (Array.isArray(content)) {
      return content
        .map((c) => (typeof c === 'string' ? c : String((c as { event?: unknown }).event ?? '')))
        .join('\n');
    }
    return '';
  }

  /** Marks the remote run failed (Airflow's way to stop it). */
  async failRun(dagId: string, runId: string): Promise<RemoteRun> {
    const res = await this.call('PATCH', `/dags/${enc(dagId)}/dagRuns/${enc(runId)}`, {
      safe: true,
      body: { state: 'failed' },
    });
    return toRun(res.json as Record<string, unknown>);
  }

  async setPaused(dagId: string, paused: boolean): Promise<RemoteDag> {
    const res = await this.call('PATCH', `/dags/${enc(dagId)}`, {
      safe: true,
      body: { is_paused: paused },
      query: { update_mask: 'is_paused' },
    });
    return toDag(res.json as Record<string, unknown>);
  }

  /** Clears failed task instances of one run so Airflow runs them again; returns the cleared task ids. */
  async clearTasks(dagId: string, runId: string, taskIds: readonly string[]): Promise<string[]> {
    const body = {
      dag_run_id: runId,
      task_ids: [...taskIds],
      only_failed: true,
      dry_run: false,
      reset_dag_runs: true,
    };
    const res = await this.call('POST', `/dags/${enc(dagId)}/clearTaskInstances`, { safe: true, body });
    const tis = (res.json as { task_instances?: { task_id?: unknown }[] }).task_instances ?? [];
    return tis.map((t) => String(t.task_id));
  }

  /** An authenticated call, with the 401 → refresh → retry-once rule and retries for safe calls. */
  private async call(method: string, path: string, o: CallOptions): Promise<Answer> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.withAuthRetry(method, path, o);
      } catch (e) {
        if (!o.safe || attempt >= this.retries || !(e instanceof AirclutchError) || !isRetryable(e)) throw e;
        await this.sleep(this.backoff(attempt + 1));
      }
    }
  }

  private async withAuthRetry(method: string, path: string, o: CallOptions): Promise<Answer> {
    try {
      return await this.send(method, path, o, true);
    } catch (e) {
      if (!(e instanceof AirclutchError) || e.code !== 'AIRFLOW_AUTH_FAILED' || e.details?.status !== 401)
        throw e;
      this.opts.auth.invalidate();
      return await this.send(method, path, o, true);
    }
  }

  private backoff(attempt: number): number {
    return Math.min(30_000, this.retryBaseMs * 2 ** (attempt - 1));
  }

  private async send(
    method: string,
    path: string,
    o: CallOptions,
    authenticated: boolean,
  ): Promise<Answer & { date: number | undefined }> {
    const url = new URL(`${this.baseUrl}/api/${this.api}${path}`);
    for (const [k, v] of Object.entries(o.query ?? {})) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (authenticated) headers.authorization = await this.opts.auth.header();
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    const where = `${method} ${url.pathname}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        ...(o.body === undefined ? {} : { body: JSON.stringify(o.body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      throw networkError(e, where, this.baseUrl, this.timeoutMs);
    }
    let json: unknown;
    try {
      const text = await res.text();
      json = text ? JSON.parse(text) : undefined;
    } catch (e) {
      if (res.ok) throw networkError(e, where, this.baseUrl, this.timeoutMs);
      json = undefined;
    }
    const dateHeader = res.headers.get('date');
    const date = dateHeader ? Date.parse(dateHeader) : undefined;
    if (res.ok || o.accept?.includes(res.status)) return { status: res.status, json, date };
    throw statusError(res.status, json, where, authenticated ? this.opts.auth.kind : undefined);
  }
}

/** How batch answers are keyed: a run id is unique within its DAG. */
export function runKey(dagId: string, runId: string): string {
  return `${dagId}/${runId}`;
}

function enc(s: string): string {
  return encodeURIComponent(s);
}
