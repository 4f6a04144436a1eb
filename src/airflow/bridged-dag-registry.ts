/**
 * The DAG registry with Airflow-backed environments in it: local DAG folders as before, plus each
 * environment's Airflow catalogue. `dags list`, the API, policies and the gate see one list. A remote
 * DAG whose id is also a local DAG of the same environment is refused (the local one stays), and a
 * DAG gone from Airflow shows as an import error that says so.
 * @module
 */

import {
  DagRegistry,
  type DagRegistryConfig,
  type DagRegistryOptions,
  type RegistryImportError,
} from '../dag/dag-registry.ts';
import type { LoadedDag } from '../dag/load-dag-folder.ts';
import { AirclutchError } from '../lib/errors.ts';
import { didYouMean, nearMatches } from '../lib/near-matches.ts';
import type { AirflowCatalog, CatalogDag } from './airflow-catalog.ts';

/**
 * @example
 * const registry = new BridgedDagRegistry(config, new Map([['prod', catalog]]));
 * await registry.reload(); await catalog.refresh();
 */
export class BridgedDagRegistry extends DagRegistry {
  readonly catalogs: ReadonlyMap<string, AirflowCatalog>;

  constructor(
    config: DagRegistryConfig,
    catalogs: ReadonlyMap<string, AirflowCatalog>,
    options: DagRegistryOptions = {},
  ) {
    super(config, options);
    this.catalogs = catalogs;
    // Catalogue changes are not re-emitted as registry changes: startAirflowBridge recompiles the
    // policies and records them once, in dev mode as in production.
  }

  /** True when runs of `dagId` in `env` execute in Airflow (also once the DAG is gone from it). */
  isRemote(env: string, dagId: string): boolean {
    return this.catalogs.has(env) && !super.find(env, dagId);
  }

  /** The remote DAG, when `dagId` of `env` lives in Airflow. */
  remote(env: string, dagId: string): CatalogDag | undefined {
    if (super.find(env, dagId)) return undefined;
    return this.catalogs.get(env)?.find(dagId);
  }

  override find(env: string, dagId: string): LoadedDag | undefined {
    return super.find(env, dagId) ?? this.catalogs.get(env)?.find(dagId);
  }

  override get(env: string, dagId: string): LoadedDag {
    const found = this.find(env, dagId);
    if (found) return found;
    const catalog = this.catalogs.get(env);
    if (!catalog) return super.get(env, dagId);
    const gone = catalog.gone().find((g) => g.dagId === dagId);
    if (gone) {
      throw new AirclutchError(
        'DAG_NOT_FOUND',
        `DAG ${dagId} is gone from Airflow at ${catalog.client.baseUrl} (since ${new Date(gone.goneAt).toISOString()}); its runs stay listed`,
        { details: { env, dagId, suggestions: [] } },
      );
    }
    const ids = this.list(env).map((d) => d.dag.id);
    const suggestions = nearMatches(dagId, ids);
    throw new AirclutchError(
      'DAG_NOT_FOUND',
      `DAG ${dagId} not found in environment ${env} (local folders and Airflow at ${catalog.client.baseUrl})${didYouMean(suggestions)}`,
      { details: { env, dagId, suggestions } },
    );
  }

  override list(env?: string): LoadedDag[] {
    const local = super.list(env);
    const remote = [...this.catalogs.values()]
      .filter((c) => env === undefined || c.env === env)
      .flatMap((c) => c.list().filter((d) => !super.find(c.env, d.dag.id)));
    if (remote.length === 0) return local;
    return [...local, ...remote].sort(
      (a, b) => a.env.localeCompare(b.env) || a.dag.id.localeCompare(b.dag.id),
    );
  }

  override errors(env?: string): RegistryImportError[] {
    const out = super.errors(env);
    for (const c of this.catalogs.values()) {
      if (env !== undefined && c.env !== env) continue;
      out.push(...c.errors());
      for (const d of c.list()) {
        const local = super.find(c.env, d.dag.id);
        if (local) {
          out.push({
            env: c.env,
            file: d.file,
            line: null,
            column: null,
            dagId: d.dag.id,
            message: `DAG id ${d.dag.id} is both a local DAG (${local.file}) and an Airflow DAG of environment ${c.env}; the local one is used`,
          });
        }
      }
    }
    return out;
  }
}
