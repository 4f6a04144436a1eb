/**
 * A small stand-in for the DAG loader: imports every `.ts` file of each environment's DAG folders and
 * returns `{ env, dag, file }` for each DAG export. The real loader plugs into `PolicySources.dags`.
 * @module
 */
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AirclutchConfig } from '../config/config-schema.ts';
import { isDag } from '../dag/dag.ts';
import { AirclutchError, describeThrown } from '../lib/errors.ts';
import type { DagSource, PolicySources } from './policy-sources.ts';

/** Builds policy sources from the config, importing DAG files. Throws `DAG_IMPORT_FAILED`. */
export async function policySourcesFromConfig(config: AirclutchConfig): Promise<PolicySources> {
  const dags: DagSource[] = [];
  const policyDirs: Record<string, string[]> = {};
  for (const [env, e] of Object.entries(config.environments)) {
    policyDirs[env] = e.policies;
    for (const folder of e.dags) {
      const dir = resolve(config.rootDir, folder);
      const files = (await readdir(dir).catch(() => [] as string[]))
        .filter((f) => /\.[cm]?ts$/.test(f) && !f.endsWith('.d.ts'))
        .sort();
      for (const f of files) {
        const file = join(dir, f);
        let mod: Record<string, unknown>;
        try {
          mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
        } catch (e) {
          throw new AirclutchError('DAG_IMPORT_FAILED', `${file} failed to load: ${describeThrown(e)}`, {
            cause: e,
          });
        }
        for (const value of new Set(Object.values(mod)))
          if (isDag(value)) dags.push({ env, dag: value, file });
      }
    }
  }
  return { rootDir: config.rootDir, dags, policyDirs };
}

/** Policy test files: `*.cedar-test.yaml` in DAG and policy folders, and `*.yaml` in `policies/tests/`. */
export async function findPolicyTestFiles(config: AirclutchConfig): Promise<string[]> {
  const found = new Set<string>();
  for (const e of Object.values(config.environments)) {
    for (const folder of [...e.dags, ...e.policies]) {
      const dir = resolve(config.rootDir, folder);
      const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
      for (const f of entries) {
        if (f.endsWith('.cedar-test.yaml') || /(^|\/)tests\/[^/]+\.ya?ml$/.test(f)) found.add(join(dir, f));
      }
    }
  }
  return [...found].sort();
}
