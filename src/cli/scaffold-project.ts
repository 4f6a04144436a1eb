/**
 * Scaffolds a new Airclutch project in a folder: the config, an example DAG with its policy and
 * policy tests, shared roles, a `.gitignore` entry for the data dir, and a `tsconfig.json`. It
 * never overwrites a file: when a project or a file it would write is already there, it says what
 * it found and changes nothing.
 * @module
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AirclutchError } from '../lib/errors.ts';

/** The templates, shipped in the package beside `src/` and `dist/`. */
const TEMPLATES = fileURLToPath(new URL('../../templates/init/', import.meta.url));
const CONFIG_FILES = ['airclutch.config.ts', 'airclutch.config.yaml', 'airclutch.config.yml'];
/** Files a project may already have: kept as they are. */
const KEPT_IF_PRESENT = new Set(['tsconfig.json']);
const DATA_DIR = '.airclutch/';

export interface ScaffoldResult {
  /** Paths written, relative to the folder. */
  readonly created: readonly string[];
  /** Paths left as they were because the project already had them. */
  readonly kept: readonly string[];
  /** Whether `.airclutch/` was added to `.gitignore` (created if absent). */
  readonly gitignoreUpdated: boolean;
}

/**
 * Writes a working project into `dir`. Throws `PROJECT_EXISTS`, having changed nothing, when `dir`
 * already has an Airclutch config or any file the project would write.
 *
 * @example
 * const { created } = scaffoldProject(process.cwd());
 */
export function scaffoldProject(dir: string): ScaffoldResult {
  const configs = CONFIG_FILES.filter((f) => existsSync(join(dir, f)));
  if (configs.length > 0) {
    throw new AirclutchError(
      'PROJECT_EXISTS',
      `${dir} already has an Airclutch project (${configs.join(', ')}); init changed nothing. ` +
        'Edit that config, or run `airclutch init` in an empty folder.',
      { details: { found: configs } },
    );
  }
  const files = templateFiles();
  const kept = files.filter((f) => KEPT_IF_PRESENT.has(f) && existsSync(join(dir, f)));
  const toWrite = files.filter((f) => !kept.includes(f));
  const clashes = toWrite.filter((f) => existsSync(join(dir, f)));
  if (clashes.length > 0) {
    throw new AirclutchError(
      'PROJECT_EXISTS',
      `${dir} already has ${clashes.join(', ')}, which init would write; init changed nothing. ` +
        'Move those files away, or run `airclutch init` in an empty folder.',
      { details: { found: clashes } },
    );
  }
  for (const f of toWrite) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    // `wx`: a file that appeared since the check above is still never overwritten.
    writeFileSync(join(dir, f), readFileSync(join(TEMPLATES, f)), { flag: 'wx' });
  }
  return { created: toWrite, kept, gitignoreUpdated: ignoreDataDir(dir) };
}

/** Template paths relative to the template folder, with `/` separators, sorted. */
function templateFiles(): string[] {
  return readdirSync(TEMPLATES, { recursive: true, encoding: 'utf8' })
    .filter((p) => statSync(join(TEMPLATES, p)).isFile())
    .map((p) => relative(TEMPLATES, join(TEMPLATES, p)).split(sep).join('/'))
    .sort();
}

/** Adds the data dir to `.gitignore` unless a line already ignores it. */
function ignoreDataDir(dir: string): boolean {
  const file = join(dir, '.gitignore');
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const lines = text.split(/\r?\n/).map((l) => l.trim().replace(/^\//, '').replace(/\/$/, ''));
  if (lines.includes('.airclutch')) return false;
  const gap = text === '' || text.endsWith('\n') ? '' : '\n';
  writeFileSync(
    file,
    `${text}${gap}# Airclutch's local data: SQLite store, logs, DAG bundles\n${DATA_DIR}\n`,
  );
  return true;
}
