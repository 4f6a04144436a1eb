/**
 * Loads one DAG file: bundle it, import the bundle (only the module's top level runs, never task
 * code), collect the DAGs it exports and validate them. Every failure becomes an import error
 * located in the user's TypeScript source.
 * @module
 */
import { createHash } from 'node:crypto';
import { mkdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeThrown } from '../lib/errors.ts';
import { bundleDagFile } from './bundle-dag-file.ts';
import { type Dag, isDag } from './dag.ts';
import { recordDagModule } from './dag-modules.ts';
import { BundleLocations, type SourceLocation } from './source-location.ts';
import { validateDag } from './validate-dag.ts';

/** A DAG as loaded from its file. */
export interface LoadedDag {
  readonly env: string;
  readonly dag: Dag<any>;
  /** Absolute path of the file that exports it. */
  readonly file: string;
  /** Content hash (16 hex) of the file and every local module it imports. */
  readonly version: string;
  /** Where `dag()` was called, in the TypeScript source. */
  readonly definedAt: SourceLocation | null;
}

/** A file that failed to load, or a DAG in it that is invalid, as Airflow's "import errors". */
export interface DagImportError {
  /** Absolute path of the DAG file whose loading failed. */
  readonly file: string;
  /** Line and column in `file` (1-based), when known. */
  readonly line: number | null;
  readonly column: number | null;
  readonly message: string;
  /** The DAG the error is about, when the file loaded but a DAG in it is invalid or a duplicate. */
  readonly dagId?: string;
}

export interface LoadedDagFile {
  readonly dags: LoadedDag[];
  readonly errors: DagImportError[];
}

/**
 * Loads `file`, a DAG file under the folder `root`. The bundle is written to `cacheDir`, named by
 * the file and its content version, and imported. It stays there: task threads import the same
 * bundle to run the DAG's function tasks (`recordDagModule`). A bundle that fails to import is deleted.
 *
 * A file whose top level never returns (`while (true) {}`) blocks this process: synchronous code cannot
 * be interrupted in-process. Loading in a worker thread would bound it, at the price of DAG objects
 * that cannot cross threads; the engine would then need its own worker per file. Not done yet.
 *
 * @example
 * const { dags, errors } = await loadDagFile('/repo/dags/a.ts', { root: '/repo/dags', env: 'dev', cacheDir });
 */
export async function loadDagFile(
  file: string,
  options: { root: string; env: string; cacheDir: string },
): Promise<LoadedDagFile> {
  const bundled = await bundleDagFile(file, options.root);
  if (!bundled.ok) {
    return {
      dags: [],
      errors: bundled.problems.map((p) =>
        errorAt(file, p.file === file ? p : null, p.message, p, options.root),
      ),
    };
  }
  const { bundle } = bundled;
  const fileKey = createHash('sha256').update(file).digest('hex').slice(0, 8);
  const bundlePath = join(options.cacheDir, `${fileKey}-${bundle.version}.mjs`);
  const locations = new BundleLocations(bundlePath, bundle.sourceMap);
  let ns: Record<string, unknown>;
  try {
    await mkdir(options.cacheDir, { recursive: true });
    await writeBundle(bundlePath, bundle.code);
    ns = await import(pathToFileURL(bundlePath).href);
  } catch (e) {
    await unlink(bundlePath).catch(() => {});
    const loc = locations.firstIn((e as Error | undefined)?.stack, new Set(bundle.inputs));
    return {
      dags: [],
      errors: [
        errorAt(
          file,
          loc?.file === file ? loc : null,
          `import failed: ${describeThrown(e)}`,
          loc,
          options.root,
        ),
      ],
    };
  }
  const loaded = collectDags(file, ns, bundle.version, locations, options);
  for (const d of loaded.dags) recordDagModule(d.dag, pathToFileURL(bundlePath).href);
  return loaded;
}

/**
 * Writes the bundle unless this very version is already there (its name is its content hash), by
 * rename, so a task thread importing it never reads half a file.
 */
async function writeBundle(path: string, code: string): Promise<void> {
  if (
    await stat(path).then(
      (s) => s.size === Buffer.byteLength(code),
      () => false,
    )
  )
    return;
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, code);
  await rename(tmp, path);
}

function collectDags(
  file: string,
  ns: Record<string, unknown>,
  version: string,
  locations: BundleLocations,
  { env, root }: { env: string; root: string },
): LoadedDagFile {
  const dags: LoadedDag[] = [];
  const errors: DagImportError[] = [];
  const seen = new Set<unknown>();
  for (const value of Object.values(ns)) {
    if (!isDag(value) || seen.has(value)) continue;
    seen.add(value);
    const definedAt = value.definedAt ? locations.map(value.definedAt) : null;
    const at = definedAt?.file === file ? definedAt : null;
    const problems = validateDag(value);
    if (problems.length) {
      const message = `DAG ${value.id} is invalid: ${problems.join('; ')}`;
      errors.push({ ...errorAt(file, at, message, definedAt, root), dagId: value.id });
    } else if (dags.some((d) => d.dag.id === value.id)) {
      const message = `DAG id ${value.id} is exported twice by this file`;
      errors.push({ ...errorAt(file, at, message, definedAt, root), dagId: value.id });
    } else {
      dags.push({ env, dag: value, file, version, definedAt });
    }
  }
  return { dags, errors };
}

/** An error in `file`; when the location lies in an imported module, the message names it. */
function errorAt(
  file: string,
  at: { line: number | null; column: number | null } | null,
  message: string,
  actual: { file: string; line: number | null; column: number | null } | null,
  root: string,
): DagImportError {
  const elsewhere =
    actual && actual.file !== file
      ? `in ${relative(root, actual.file)}${actual.line ? `:${actual.line}:${actual.column}` : ''}: `
      : '';
  return { file, line: at?.line ?? null, column: at?.column ?? null, message: elsewhere + message };
}
