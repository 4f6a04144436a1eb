/** How a bench module runs alone: `node bin/run-ts.js bench/<x>.ts [args] [--json]`. @module */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Runs `fn` when `meta` is the module node was started with, and prints its figures: as one JSON
 * line with `--json` (what `bench/run.ts` reads), else as an object.
 *
 * @example
 * await runIfMain(import.meta, () => benchAudit());
 */
export async function runIfMain(
  meta: ImportMeta,
  fn: (args: string[]) => Promise<Record<string, number>>,
): Promise<void> {
  if (!process.argv[1] || meta.url !== pathToFileURL(resolve(process.argv[1])).href) return;
  const args = process.argv.slice(2).filter((a) => a !== '--json');
  const figures = await fn(args);
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(figures)}\n`);
  else console.log(figures);
}
