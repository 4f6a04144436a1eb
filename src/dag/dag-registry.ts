/**
 * The DAGs of every environment, loaded from the folders the config names, with their import errors.
 * `reload()` loads everything again; `watch()` (dev mode) reloads when files change and emits the
 * difference. It knows nothing of the store: whoever owns the store syncs from the `'change'` events.
 * @module
 */
import { EventEmitter } from 'node:events';
import { join, resolve } from 'node:path';
import type { AirclutchConfig } from '../config/config-schema.ts';
import type { DagSource } from '../engine/engine-types.ts';
import { AirclutchError } from '../lib/errors.ts';
import { didYouMean, nearMatches } from '../lib/near-matches.ts';
import { type DagImportError, type LoadedDag, loadDagFolder } from './load-dag-folder.ts';
import { resolveDuplicateIds } from './resolve-duplicate-ids.ts';
import { type FolderWatch, watchFolders } from './watch-folders.ts';

/** An import error, with the environment whose folder holds the file. */
export type RegistryImportError = DagImportError & { readonly env: string };

/** What a reload changed. DAGs are named `env/dagId`. */
export interface DagRegistryChange {
  readonly added: string[];
  /** DAGs whose version (file or local imports) changed. */
  readonly changed: string[];
  readonly removed: string[];
  /** Every import error now, as `errors()` returns them. */
  readonly errors: RegistryImportError[];
  /** Errors that were not there before this reload. */
  readonly newErrors: RegistryImportError[];
  /** Errors of the previous load that are gone. */
  readonly fixedErrors: RegistryImportError[];
}

export type DagRegistryConfig = Pick<AirclutchConfig, 'environments' | 'rootDir' | 'dataDir'>;

export interface DagRegistryOptions {
  /**
   * Which file held each DAG (`env/dagId` to absolute path) before this process started, as the store
   * last saw it. When two files declare one id, the one that held it keeps it, even on a cold start.
   */
  readonly incumbents?: ReadonlyMap<string, string>;
}

/**
 * Holds the loaded DAGs. Emits `'change'` (a `DagRegistryChange`) after a reload that changed something,
 * and `'error'` if watching fails.
 *
 * @example
 * const registry = new DagRegistry(config);
 * await registry.reload();
 * const { dag } = registry.get('dev', 'nightly_revenue');
 */
export class DagRegistry
  extends EventEmitter<{ change: [DagRegistryChange]; error: [Error] }>
  implements DagSource
{
  readonly #config: DagRegistryConfig;
  readonly #incumbents: ReadonlyMap<string, string>;
  #dags = new Map<string, LoadedDag>();
  #errors: RegistryImportError[] = [];
  #reloading: Promise<DagRegistryChange> | null = null;
  #again = false;

  constructor(config: DagRegistryConfig, options: DagRegistryOptions = {}) {
    super();
    this.#config = config;
    this.#incumbents = options.incumbents ?? new Map();
  }

  /** The DAG `dagId` of `env`, or undefined. */
  find(env: string, dagId: string): LoadedDag | undefined {
    return this.#dags.get(`${env}/${dagId}`);
  }

  /** The DAG `dagId` of `env`. Throws `DAG_NOT_FOUND` naming near matches (in `details.suggestions`). */
  get(env: string, dagId: string): LoadedDag {
    const found = this.#dags.get(`${env}/${dagId}`);
    if (found) return found;
    if (!this.#config.environments[env]) {
      const envs = Object.keys(this.#config.environments);
      throw new AirclutchError(
        'DAG_NOT_FOUND',
        `environment ${env} is not configured; environments: ${envs.join(', ') || '(none)'}`,
        { details: { env, dagId, suggestions: [] } },
      );
    }
    const ids = this.list(env).map((d) => d.dag.id);
    const suggestions = nearMatches(dagId, ids);
    const broken = this.#errors.some((e) => e.env === env && e.dagId === dagId);
    const hint = broken
      ? ` (it failed to load: see \`airclutch dags list --env ${env}\`)`
      : didYouMean(suggestions) ||
        (ids.length
          ? `; known DAGs: ${ids.slice(0, 10).join(', ')}${ids.length > 10 ? ', …' : ''}`
          : '; this environment has no DAGs');
    throw new AirclutchError('DAG_NOT_FOUND', `DAG ${dagId} not found in environment ${env}${hint}`, {
      details: { env, dagId, suggestions },
    });
  }

  /** The loaded DAGs, of one environment or all, sorted by environment then id. */
  list(env?: string): LoadedDag[] {
    return [...this.#dags.values()]
      .filter((d) => env === undefined || d.env === env)
      .sort((a, b) => a.env.localeCompare(b.env) || a.dag.id.localeCompare(b.dag.id));
  }

  /** The import errors of the last load, of one environment or all. */
  errors(env?: string): RegistryImportError[] {
    return this.#errors.filter((e) => env === undefined || e.env === env);
  }

  /** Loads every environment's folders again. Concurrent calls share one reload (and a follow-up). */
  reload(): Promise<DagRegistryChange> {
    if (this.#reloading) {
      this.#again = true;
      return this.#reloading;
    }
    const run = async (): Promise<DagRegistryChange> => {
      try {
        let change = await this.#loadAll();
        while (this.#again) {
          this.#again = false;
          change = await this.#loadAll();
        }
        return change;
      } finally {
        this.#reloading = null;
      }
    };
    this.#reloading = run();
    return this.#reloading;
  }

  /**
   * Reloads when a file under a DAG folder changes (debounced), emitting `'change'` when the DAGs or
   * the errors differ. Survives atomic saves (write a temp file, rename it over the DAG file). Returns
   * the watch: await `ready` before relying on it, and `close()` it.
   */
  watch(options: { debounceMs?: number } = {}): FolderWatch {
    return watchFolders(
      this.#folders().map((f) => f.dir),
      {
        debounceMs: options.debounceMs ?? 100,
        onChange: () => {
          this.reload().catch((e: unknown) => {
            if (this.listenerCount('error')) this.emit('error', e as Error);
          });
        },
        onError: (e) => {
          if (this.listenerCount('error')) this.emit('error', e);
        },
      },
    );
  }

  #folders(): { env: string; dir: string }[] {
    return Object.entries(this.#config.environments).flatMap(([env, e]) =>
      e.dags.map((d) => ({ env, dir: resolve(this.#config.rootDir, d) })),
    );
  }

  async #loadAll(): Promise<DagRegistryChange> {
    const cacheDir = join(this.#config.dataDir, 'cache', 'dags');
    const dags = new Map<string, LoadedDag>();
    const errors: RegistryImportError[] = [];
    for (const env of Object.keys(this.#config.environments)) {
      // The DAG loaded now keeps its id against any newcomer, in every folder of the environment.
      const incumbent = (id: string) =>
        this.#dags.get(`${env}/${id}`)?.file ?? this.#incumbents.get(`${env}/${id}`);
      const found: LoadedDag[] = [];
      for (const { dir } of this.#folders().filter((f) => f.env === env)) {
        const folder = await loadDagFolder(dir, { env, cacheDir, incumbent });
        found.push(...folder.dags);
        errors.push(...folder.errors.map((e) => ({ ...e, env })));
      }
      const across = resolveDuplicateIds(found, incumbent, this.#config.rootDir);
      for (const d of across.kept) dags.set(`${env}/${d.dag.id}`, d);
      errors.push(...across.errors.map((e) => ({ ...e, env })));
    }
    const change = diff(this.#dags, dags, this.#errors, errors);
    this.#dags = dags;
    this.#errors = errors;
    const { added, changed, removed, newErrors, fixedErrors } = change;
    if (added.length + changed.length + removed.length + newErrors.length + fixedErrors.length > 0) {
      this.emit('change', change);
    }
    return change;
  }
}

function diff(
  before: Map<string, LoadedDag>,
  after: Map<string, LoadedDag>,
  errorsBefore: RegistryImportError[],
  errors: RegistryImportError[],
): DagRegistryChange {
  const key = (e: RegistryImportError) => `${e.env}\0${e.file}\0${e.line}\0${e.message}`;
  const old = new Set(errorsBefore.map(key));
  const now = new Set(errors.map(key));
  return {
    added: [...after.keys()].filter((k) => !before.has(k)),
    changed: [...after.keys()].filter(
      (k) => before.has(k) && before.get(k)!.version !== after.get(k)!.version,
    ),
    removed: [...before.keys()].filter((k) => !after.has(k)),
    errors,
    newErrors: errors.filter((e) => !old.has(key(e))),
    fixedErrors: errorsBefore.filter((e) => !now.has(key(e))),
  };
}
