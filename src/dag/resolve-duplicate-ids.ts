/**
 * Which file keeps a DAG id that several files declare. A working DAG is never taken down by another
 * file reusing its id: the file that holds the id now keeps it, and the others are import errors.
 * @module
 */
import { relative } from 'node:path';
import type { DagImportError, LoadedDag } from './load-dag-file.ts';

/** The file (absolute path) that holds `dagId` now, if any: the previous load's, or the store's. */
export type IncumbentFile = (dagId: string) => string | undefined;

/**
 * For each id declared by more than one file, keeps one definition and turns the others into import
 * errors naming the file that keeps it. The keeper is the file that holds the id now (`incumbent`);
 * when none of them does (a cold start with no record, or the holder stopped loading), the first file
 * in path order. `dags` must be in path order; paths in messages are relative to `root`.
 *
 * @example
 * const { kept, errors } = resolveDuplicateIds(dags, (id) => previous.get(id)?.file, '/repo/dags');
 */
export function resolveDuplicateIds(
  dags: readonly LoadedDag[],
  incumbent: IncumbentFile,
  root: string,
): { kept: LoadedDag[]; errors: DagImportError[] } {
  const byId = new Map<string, LoadedDag[]>();
  for (const d of dags) byId.set(d.dag.id, [...(byId.get(d.dag.id) ?? []), d]);
  const kept: LoadedDag[] = [];
  const errors: DagImportError[] = [];
  for (const [id, group] of byId) {
    const holder = incumbent(id);
    const keeper = group.find((d) => d.file === holder) ?? group[0]!;
    kept.push(keeper);
    for (const d of group) {
      if (d === keeper) continue;
      const at = d.definedAt?.file === d.file ? d.definedAt : null;
      errors.push({
        file: d.file,
        line: at?.line ?? null,
        column: at?.column ?? null,
        message: `duplicate DAG id ${id}: already defined in ${relative(root, keeper.file)}, which stays loaded; give this DAG another id`,
        dagId: id,
      });
    }
  }
  return { kept, errors };
}
