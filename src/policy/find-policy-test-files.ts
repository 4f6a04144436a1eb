/** Finds policy test files: `*.cedar-test.yaml` beside DAGs and policies, and `*.yaml` under `policies/tests/`. @module */
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { AirclutchConfig } from '../config/config-schema.ts';

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
