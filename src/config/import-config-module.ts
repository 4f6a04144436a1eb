/**
 * Imports `airclutch.config.ts` without a TypeScript loader: the built package runs on plain Node
 * (Node 20 cannot import TypeScript), so the file is bundled with esbuild exactly as DAG files are (its `import ... from 'airclutch'`
 * binds to the running Airclutch) and the bundle is imported from a temporary file.
 * @module
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * The module namespace of the TypeScript file `file`. Bundled from source too (tsx, vitest), so
 * that `airclutch` resolves to the running Airclutch even where the project has not installed it.
 *
 * @example
 * const mod = await importConfigModule('/repo/airclutch.config.ts');
 */
export async function importConfigModule(file: string): Promise<Record<string, unknown>> {
  // Loaded on use: esbuild is only needed when the config is TypeScript.
  const { bundleDagFile } = await import('../dag/bundle-dag-file.ts');
  const bundled = await bundleDagFile(file, join(file, '..'));
  if (!bundled.ok) {
    const p = bundled.problems[0]!;
    throw new Error(`${p.file}${p.line === null ? '' : `:${p.line}:${p.column}`}: ${p.message}`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'airclutch-config-'));
  try {
    const bundlePath = join(dir, 'airclutch.config.mjs');
    await writeFile(bundlePath, bundled.bundle.code);
    return await import(pathToFileURL(bundlePath).href);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
