/**
 * Bundles one DAG file with the local modules it imports into a single ES module, so that every load
 * evaluates fresh code (Node's ESM cache is keyed by URL), while packages stay external and shared.
 * @module
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Loader, type Message, type Plugin } from 'esbuild';

/**
 * The running Airclutch's public entries: DAG files' `import ... from 'airclutch'` (and
 * `'airclutch/zod'`) always bind to them. From the built package those are `dist/index.js` (and
 * `dist/zod.js`); from a clone run through tsx, `src/index.ts` (and `src/zod.ts`).
 */
const hostModule = (name: string) =>
  fileURLToPath(new URL(`../${name}${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));
const HOST_ENTRY = hostModule('index');
const HOST_DIR = dirname(HOST_ENTRY);
/** The running Airclutch's entries a DAG file may import: the main one, and its zod. */
const HOST_ENTRIES: Record<string, string> = { airclutch: HOST_ENTRY, 'airclutch/zod': hostModule('zod') };

const LOADERS: Record<string, Loader> = {
  '.ts': 'ts',
  '.mts': 'ts',
  '.cts': 'ts',
  '.tsx': 'tsx',
  '.js': 'js',
  '.mjs': 'js',
  '.cjs': 'js',
  '.jsx': 'jsx',
  '.json': 'json',
};

export interface BundledDagFile {
  /** The bundled ES module, with an inline source map. */
  readonly code: string;
  /** The source map as JSON, to map stack frames of the bundle back to the TypeScript sources. */
  readonly sourceMap: string;
  /** Absolute paths of the DAG file and every local module bundled with it. */
  readonly inputs: readonly string[];
  /**
   * sha256 (16 hex) over the inputs' paths (relative to `root`) and the very bytes bundled: a file
   * saved again while bundling cannot give the code of one save the version of the next.
   */
  readonly version: string;
}

/** A syntax or resolution error found while bundling, with its location in the sources. */
export interface BundleProblem {
  readonly file: string;
  readonly line: number | null;
  readonly column: number | null;
  readonly message: string;
}

export type BundleResult = { ok: true; bundle: BundledDagFile } | { ok: false; problems: BundleProblem[] };

/**
 * Bundles `file` (TypeScript or JavaScript). `root` is the DAG folder: versions hash paths relative
 * to it, so moving the checkout does not change them.
 *
 * @example
 * const r = await bundleDagFile('/repo/dags/nightly.ts', '/repo/dags');
 * if (r.ok) console.log(r.bundle.version);
 */
export async function bundleDagFile(file: string, root: string): Promise<BundleResult> {
  const read = new Map<string, Buffer>();
  try {
    const result = await build({
      entryPoints: [file],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      // Node's own conditions, so a package resolves to the same file Node would pick (one instance).
      conditions: [],
      sourcemap: 'external',
      sourcesContent: false,
      metafile: true,
      outfile: `${file}.bundle.mjs`,
      absWorkingDir: dirname(file),
      logLevel: 'silent',
      plugins: [localSourcesPlugin(read), externalPackagesPlugin()],
    });
    const map = JSON.parse(result.outputFiles.find((o) => o.path.endsWith('.map'))!.text) as {
      sources: string[];
    };
    // Absolute paths: the bundle is written elsewhere, and stack traces must name the real files
    // (Node resolves them against the bundle URL; vite-node, in tests, joins them as paths).
    map.sources = map.sources.map((s) => resolve(dirname(file), s));
    const sourceMap = JSON.stringify(map);
    const code =
      result.outputFiles
        .find((o) => o.path.endsWith('.mjs'))!
        .text.replace(/\/\/# sourceMappingURL=.*\s*$/, '') +
      `//# sourceMappingURL=data:application/json;base64,${Buffer.from(sourceMap).toString('base64')}\n`;
    const inputs = Object.keys(result.metafile.inputs)
      .map((p) => resolve(dirname(file), p.replace(/^[a-z-]+:/, '')))
      .sort();
    return { ok: true, bundle: { code, sourceMap, inputs, version: await hashInputs(inputs, root, read) } };
  } catch (e) {
    const errors = (e as { errors?: Message[] }).errors;
    if (!Array.isArray(errors)) throw e;
    return { ok: false, problems: errors.map((m) => toProblem(m, file)) };
  }
}

function toProblem(m: Message, file: string): BundleProblem {
  const loc = m.location;
  return {
    file: loc ? resolve(dirname(file), loc.file.replace(/^[a-z-]+:/, '')) : file,
    line: loc ? loc.line : null,
    column: loc ? loc.column + 1 : null,
    message: m.text,
  };
}

async function hashInputs(
  inputs: readonly string[],
  root: string,
  read: ReadonlyMap<string, Buffer>,
): Promise<string> {
  const h = createHash('sha256');
  for (const p of inputs) {
    h.update(relative(root, p))
      .update('\0')
      .update(read.get(p) ?? (await readFile(p)))
      .update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

/**
 * Loads local sources itself so that `import.meta.url`, `.dirname` and `.filename` keep naming the
 * original file, not the bundle (DAG files that read files next to them keep working), and records
 * the bytes it read in `read`, for the version. The
 * replacement keeps every line in place, so reported line numbers stay right.
 */
function localSourcesPlugin(read: Map<string, Buffer>): Plugin {
  return {
    name: 'airclutch-local-sources',
    setup(b) {
      b.onLoad({ filter: /.*/, namespace: 'file' }, async (args) => {
        const loader = LOADERS[extname(args.path)];
        if (!loader) return undefined;
        const bytes = await readFile(args.path);
        read.set(resolve(args.path), bytes);
        const text = bytes.toString('utf8');
        if (loader === 'json') return { contents: text, loader, resolveDir: dirname(args.path) };
        const contents = text
          .replace(/\bimport\.meta\.url\b/g, JSON.stringify(pathToFileURL(args.path).href))
          .replace(/\bimport\.meta\.dirname\b/g, JSON.stringify(dirname(args.path)))
          .replace(/\bimport\.meta\.filename\b/g, JSON.stringify(args.path));
        return { contents, loader, resolveDir: dirname(args.path) };
      });
    },
  };
}

/**
 * Keeps packages out of the bundle, imported by absolute URL so the bundle can live anywhere:
 * `airclutch` binds to the running Airclutch; other packages resolve from the DAG file, falling back
 * to Airclutch's own dependencies (so a DAG folder without node_modules can still use `zod`).
 */
function externalPackagesPlugin(): Plugin {
  return {
    name: 'airclutch-external-packages',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.kind === 'entry-point' || isAbsolute(args.path) || args.pluginData === 'nested') {
          return undefined;
        }
        if (args.path.startsWith('node:')) return { path: args.path, external: true };
        const host = HOST_ENTRIES[args.path];
        if (host) return { path: pathToFileURL(host).href, external: true };
        for (const resolveDir of [args.resolveDir, HOST_DIR]) {
          const r = await b.resolve(args.path, { kind: args.kind, resolveDir, pluginData: 'nested' });
          if (r.errors.length === 0 && r.path) {
            return isAbsolute(r.path)
              ? { path: pathToFileURL(r.path).href, external: true }
              : { path: args.path, external: true };
          }
        }
        return undefined;
      });
    },
  };
}
