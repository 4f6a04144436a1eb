/**
 * Loads a folder of DAG files. A broken file never stops the others: each failure becomes a
 * `DagImportError` with file, line and message, as Airflow shows import errors.
 * @module
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { type DagImportError, type LoadedDag, loadDagFile } from './load-dag-file.ts';
import { type IncumbentFile, resolveDuplicateIds } from './resolve-duplicate-ids.ts';

export type { DagImportError, LoadedDag } from './load-dag-file.ts';

export interface LoadDagFolderOptions {
  /** The environment these DAGs belong to. */
  env: string;
  /** Where bundles are written before import (default: a folder under the OS temp dir). */
  cacheDir?: string;
  /**
   * The file that holds each DAG id now: when another file declares the same id, the holder keeps it
   * and the other is the import error. Without one, the first file in path order keeps it.
   */
  incumbent?: IncumbentFile;
}

export interface DagFolder {
  readonly dags: LoadedDag[];
  readonly errors: DagImportError[];
}

const DAG_FILE = /\.(ts|mts|js|mjs)$/;
const NOT_DAG_FILE = /\.(test|spec)\.[cm]?[jt]s$|\.d\.[cm]?ts$/;

/**
 * Imports every `.ts`, `.mts`, `.js` and `.mjs` file under `dir` (recursively; skipping tests,
 * declaration files, `node_modules` and dot-folders) and returns the DAGs they export. Files that
 * export no DAG (helper modules) are ignored. Every load imports fresh code, the DAG file's and its
 * local imports'; packages (`airclutch`, `zod`, …) are shared with the running process.
 *
 * @example
 * const { dags, errors } = await loadDagFolder('examples/dags', { env: 'dev' });
 * for (const e of errors) console.error(`${e.file}:${e.line} ${e.message}`);
 */
export async function loadDagFolder(dir: string, options: LoadDagFolderOptions): Promise<DagFolder> {
  const root = resolve(dir);
  if (!existsSync(root)) {
    return {
      dags: [],
      errors: [{ file: root, line: null, column: null, message: `DAG folder ${root} does not exist` }],
    };
  }
  const cacheDir = options.cacheDir ?? join(tmpdir(), 'airclutch-dag-cache');
  const files = await listDagFiles(root);
  // Bundling runs in parallel in esbuild's service; module top levels then run one at a time, in order.
  const loaded = await Promise.all(
    files.map((file) => loadDagFile(file, { root, env: options.env, cacheDir })),
  );
  const { kept, errors } = resolveDuplicateIds(
    loaded.flatMap((l) => l.dags),
    options.incumbent ?? (() => undefined),
    root,
  );
  errors.push(...loaded.flatMap((l) => l.errors));
  errors.sort((a, b) => a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0));
  return { dags: kept, errors };
}

/** The DAG files under `root`, sorted so loading order (and error order) is stable. */
export async function listDagFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && DAG_FILE.test(e.name) && !NOT_DAG_FILE.test(e.name))
    .map((e) => join(e.parentPath ?? (e as { path?: string }).path ?? root, e.name))
    .filter(
      (p) =>
        !relative(root, p)
          .split(/[\\/]/)
          .some((s) => s === 'node_modules' || s.startsWith('.')),
    )
    .sort();
}
