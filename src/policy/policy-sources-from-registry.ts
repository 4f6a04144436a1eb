/** Policy sources from the loaded DAGs: each DAG's `.cedar` file sits beside its `.ts` file. @module */
import type { AirclutchConfig } from '../config/config-schema.ts';
import type { DagRegistry } from '../dag/dag-registry.ts';
import type { PolicySources } from './policy-sources.ts';

export function policySourcesFromRegistry(
  config: Pick<AirclutchConfig, 'rootDir' | 'environments'>,
  registry: Pick<DagRegistry, 'list'>,
): PolicySources {
  return {
    rootDir: config.rootDir,
    dags: registry.list().map((l) => ({ env: l.env, dag: l.dag, file: l.file })),
    policyDirs: Object.fromEntries(Object.entries(config.environments).map(([env, e]) => [env, e.policies])),
  };
}
