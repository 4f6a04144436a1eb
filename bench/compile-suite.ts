/**
 * Benchmarks run the code users run: the built package (`dist/`, compiled by `npm run build`) under
 * plain `node`, without the TypeScript loader (tsx and its loader thread cost ~35 MB of memory and a
 * share of a core). A bench module (and the test helpers it borrows) is bundled into one ES module
 * in which every import of `src/**.ts` becomes an import of the matching `dist/**.js`, and packages
 * stay external. `import.meta.url` and `import.meta.dirname` in the bundled bench files keep
 * meaning the source file, so their relative paths work from the bundle.
 * @module
 */
import { existsSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src') + sep;
const DIST = join(ROOT, 'dist');
/** Inside the repository, so the bundle resolves packages from its `node_modules`. */
const OUT = join(ROOT, 'node_modules', '.cache', 'airclutch-bench');

/** `entry`: the suite's own file; the bench modules it imports do not run their `runIfMain`. */
const toDist = (entry: string): Plugin => ({
  name: 'src-to-dist',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      const abs = resolve(args.resolveDir, args.path);
      if (!abs.startsWith(SRC)) return undefined;
      const js = join(DIST, relative(SRC, abs)).replace(/\.ts$/, '.js');
      if (!existsSync(js)) throw new Error(`${js} is missing: run \`npm run build\` first`);
      return { path: pathToFileURL(js).href, external: true };
    });
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      const url = JSON.stringify(pathToFileURL(args.path).href);
      // In one bundle every module's `import.meta` is the bundle's: only the entry may be "main".
      const main =
        args.path === entry
          ? text
          : text.replaceAll('runIfMain(import.meta,', `runIfMain({ url: ${url} } as ImportMeta,`);
      return {
        contents: main
          .replaceAll('import.meta.url', url)
          .replaceAll('import.meta.dirname', JSON.stringify(dirname(args.path))),
        loader: 'ts',
      };
    });
  },
});

/**
 * Bundles `bench/<module>` against `dist/` and returns the bundle's path, to run with `node`.
 *
 * @example
 * const file = await compileSuite('engine.ts'); // node <file> sqlite --json
 */
export async function compileSuite(module: string): Promise<string> {
  if (!existsSync(join(DIST, 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  mkdirSync(OUT, { recursive: true });
  const outfile = join(OUT, module.replace(/\.ts$/, '.mjs'));
  const entry = join(ROOT, 'bench', module);
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: `node${process.versions.node.split('.')[0]}`,
    packages: 'external',
    sourcemap: 'inline',
    logLevel: 'error',
    plugins: [toDist(entry)],
  });
  return outfile;
}

// `node bin/run-ts.js bench/compile-suite.ts <module>` prints the bundle's path (for profiling:
// `node --cpu-prof $(node bin/run-ts.js bench/compile-suite.ts profile-chain.ts)`).
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const module = process.argv[2];
  if (!module) throw new Error('usage: bench/compile-suite.ts <bench module, e.g. engine.ts>');
  process.stdout.write(`${await compileSuite(module)}\n`);
}
