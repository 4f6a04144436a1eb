/**
 * The catalogue of one Airflow-backed environment: the DAGs Airflow knows, as Airclutch `Dag`s (with
 * no local tasks and no Airclutch schedule: Airflow schedules them), with their params schema,
 * owners and tags, and a version that changes when Airflow's definition changes. Refreshed on an
 * interval and on demand; a DAG that disappears from Airflow is kept as *gone* (an import error that
 * says so), not dropped silently.
 * @module
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { z } from 'zod';
import { Dag } from '../dag/dag.ts';
import type { RegistryImportError } from '../dag/dag-registry.ts';
import type { LoadedDag } from '../dag/load-dag-folder.ts';
import { describeThrown } from '../lib/errors.ts';
import type { AirflowClient } from './airflow-client.ts';
import { paramsSchemaOf } from './airflow-params-schema.ts';
import type { RemoteDag } from './airflow-types.ts';

/** A remote DAG as the registry holds it. */
export interface CatalogDag extends LoadedDag {
  readonly remote: RemoteDag;
  /** Params whose type was assumed, and why. */
  readonly assumptions: readonly string[];
}

export interface CatalogChange {
  readonly added: string[];
  readonly changed: string[];
  readonly removed: string[];
}

export interface AirflowCatalogOptions {
  readonly env: string;
  readonly client: AirflowClient;
  readonly now?: () => number;
  /** Details calls in flight at once during a refresh. */
  readonly concurrency?: number;
}

export class AirflowCatalog extends EventEmitter<{ change: [CatalogChange]; error: [Error] }> {
  readonly env: string;
  readonly client: AirflowClient;
  #dags = new Map<string, CatalogDag>();
  #gone = new Map<string, { remote: RemoteDag; goneAt: number }>();
  #errors: RegistryImportError[] = [];
  #refreshing: Promise<CatalogChange> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastRefresh: { at: number; error: string | null } | undefined;
  readonly #now: () => number;
  readonly #concurrency: number;

  constructor(o: AirflowCatalogOptions) {
    super();
    this.env = o.env;
    this.client = o.client;
    this.#now = o.now ?? Date.now;
    this.#concurrency = o.concurrency ?? 16;
  }

  find(dagId: string): CatalogDag | undefined {
    return this.#dags.get(dagId);
  }

  list(): CatalogDag[] {
    return [...this.#dags.values()].sort((a, b) => a.dag.id.localeCompare(b.dag.id));
  }

  /** DAGs Airflow no longer lists (with when they disappeared). */
  gone(): { dagId: string; goneAt: number }[] {
    return [...this.#gone.entries()].map(([dagId, g]) => ({ dagId, goneAt: g.goneAt }));
  }

  /** Import errors as Airflow reports them, gone DAGs, and a failed refresh. */
  errors(): RegistryImportError[] {
    const out = [...this.#errors];
    for (const [dagId, g] of this.#gone) {
      out.push(
        err(
          this.env,
          `${this.client.baseUrl} ${g.remote.fileloc}`,
          dagId,
          `DAG ${dagId} is gone from Airflow (not listed since ${new Date(g.goneAt).toISOString()}); its runs stay listed`,
        ),
      );
    }
    if (this.#lastRefresh?.error) {
      out.push(
        err(
          this.env,
          this.client.baseUrl,
          null,
          `the Airflow catalogue could not be refreshed: ${this.#lastRefresh.error}; the last good one is used`,
        ),
      );
    }
    return out;
  }

  /** When the catalogue was last refreshed, and whether that failed. */
  get lastRefresh(): { at: number; error: string | null } | undefined {
    return this.#lastRefresh;
  }

  /** Reads the catalogue again. Concurrent calls share one refresh. A failure keeps the last good catalogue. */
  refresh(): Promise<CatalogChange> {
    this.#refreshing ??= this.#load().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  /** Refreshes every `intervalMs` until `stop()`. */
  start(intervalMs: number): void {
    this.stop();
    this.#timer = setInterval(() => {
      this.refresh().catch((e: unknown) => {
        if (this.listenerCount('error')) this.emit('error', e as Error);
      });
    }, intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #load(): Promise<CatalogChange> {
    let listed: RemoteDag[];
    try {
      listed = await this.client.listDags();
    } catch (e) {
      this.#lastRefresh = { at: this.#now(), error: describeThrown(e) };
      throw e;
    }
    const next = new Map<string, CatalogDag>();
    const errors: RegistryImportError[] = [];
    const todo = listed.filter((r) => {
      const old = this.#dags.get(r.dagId);
      // Details (params) only change when Airflow parses the file again.
      if (
        old &&
        old.remote.lastParsed === r.lastParsed &&
        old.remote.fileloc === r.fileloc &&
        old.remote.isPaused === r.isPaused
      ) {
        next.set(r.dagId, old);
        return false;
      }
      return true;
    });
    await inBatches(todo, this.#concurrency, async (r) => {
      try {
        const details = await this.client.dagDetails(r.dagId);
        next.set(r.dagId, this.#toCatalogDag({ ...r, ...details, isPaused: r.isPaused }));
      } catch (e) {
        errors.push(
          err(
            this.env,
            r.fileloc,
            r.dagId,
            `DAG ${r.dagId} could not be brought in from Airflow: ${describeThrown(e)}`,
          ),
        );
      }
    });
    for (const r of listed) {
      if (r.hasImportErrors)
        errors.push(
          err(
            this.env,
            r.fileloc,
            r.dagId,
            `Airflow reports import errors in ${r.fileloc} (see Airflow's import errors)`,
          ),
        );
    }
    const before = this.#dags;
    const change: CatalogChange = {
      added: [...next.keys()].filter((k) => !before.has(k)),
      changed: [...next.keys()].filter(
        (k) => before.has(k) && before.get(k)?.version !== next.get(k)?.version,
      ),
      removed: [...before.keys()].filter((k) => !next.has(k)),
    };
    const listedIds = new Set(listed.map((r) => r.dagId));
    for (const id of change.removed) {
      const old = before.get(id);
      if (old && !listedIds.has(id)) this.#gone.set(id, { remote: old.remote, goneAt: this.#now() });
    }
    for (const id of next.keys()) this.#gone.delete(id);
    this.#dags = next;
    this.#errors = errors;
    this.#lastRefresh = { at: this.#now(), error: null };
    if (change.added.length + change.changed.length + change.removed.length > 0) this.emit('change', change);
    return change;
  }

  #toCatalogDag(r: RemoteDag): CatalogDag {
    const { schema, assumptions } = paramsSchemaOf(r.params);
    const lines = [
      r.description ?? '',
      r.schedule ? `Scheduled by Airflow: ${r.schedule}.` : '',
      r.isPaused ? 'Paused in Airflow.' : '',
      assumptions.length ? `Assumed param types: ${assumptions.join('; ')}.` : '',
    ].filter(Boolean);
    const dag = new Dag({
      id: r.dagId,
      ...(lines.length ? { description: lines.join(' ') } : {}),
      ...(r.owners[0] ? { owner: r.owners.join(', ') } : {}),
      owners: [...r.owners],
      tags: [...r.tags],
      // Airflow schedules its DAGs: Airclutch's scheduler must never tick them too.
      schedule: null,
      params: z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]),
    });
    // Not the parse time: Airflow parses every file every few seconds, and a re-parse alone must not
    // make pending approvals stale.
    const version = createHash('sha256')
      .update(JSON.stringify([r.fileloc, r.params ?? {}, r.owners, r.tags, r.description, r.schedule]))
      .digest('hex')
      .slice(0, 16);
    return {
      env: this.env,
      dag,
      file: `${this.client.baseUrl} ${r.fileloc}`,
      version,
      definedAt: null,
      remote: r,
      assumptions,
    };
  }
}

function err(env: string, file: string, dagId: string | null, message: string): RegistryImportError {
  return { env, file, line: null, column: null, message, ...(dagId ? { dagId } : {}) };
}

async function inBatches<T>(items: readonly T[], width: number, fn: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  const worker = async () => {
    while (i < items.length) {
      const item = items[i++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}
