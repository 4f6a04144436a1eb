/**
 * `npm run bench`: runs every suite, each in a fresh process, prints a table, and writes
 * `bench/latest.json` as `{ "metric": number }`. The first suite measures this disk's fsync, and
 * each durable figure is also reported as a ratio to it (`*_over_fsync`); the peer suite runs
 * graphile-worker on the same PostgreSQL (`*_vs_graphile`). Benchmarks measure; tests assert
 * behaviour. What each figure means: docs/benchmarks.md.
 *
 * `npm run bench -- gate http` runs only the suites whose name contains one of the words, and keeps
 * the other figures of `latest.json`.
 *
 * Suites measure what users run: `npm run build` first, then each suite bundled against `dist/` and
 * run on plain `node` (`bench/compile-suite.ts`), not through the TypeScript loader.
 * @module
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { compileSuite } from './compile-suite.ts';
import { ratios } from './ratios.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const exec = promisify(execFile);

/**
 * A suite is a module run alone in its own process (`node <module bundled against dist> <args>
 * --json`), which prints its figures as one JSON object on its last stdout line. Add a suite by adding a line.
 */
export interface Suite {
  readonly name: string;
  readonly module: string;
  readonly args?: readonly string[];
  /** Longest it may take; the run goes on without its figures after that. */
  readonly timeoutMs?: number;
}

export const SUITES: readonly Suite[] = [
  { name: 'disk', module: 'disk.ts' },
  { name: 'engine (sqlite)', module: 'engine.ts', args: ['sqlite'], timeoutMs: 480_000 },
  { name: 'engine (postgres)', module: 'engine.ts', args: ['postgres'], timeoutMs: 480_000 },
  { name: 'task threads', module: 'task-threads.ts' },
  { name: 'peer (graphile-worker)', module: 'graphile.ts' },
  { name: 'fleet (postgres)', module: 'fleet.ts', timeoutMs: 480_000 },
  { name: 'identity', module: 'verify.ts' },
  { name: 'policy', module: 'policy.ts' },
  { name: 'gate', module: 'gate.ts' },
  { name: 'audit', module: 'audit.ts' },
  { name: 'http', module: 'http.ts' },
  { name: 'airflow bridge', module: 'airflow-bench.ts', timeoutMs: 480_000 },
  { name: 'airflow proxy', module: 'proxy.ts' },
  { name: 'ui (chromium)', module: 'ui.ts' },
  { name: 'cli', module: 'cli.ts' },
];

async function runSuite(suite: Suite): Promise<Record<string, number>> {
  const args = [await compileSuite(suite.module), ...(suite.args ?? []), '--json'];
  const child = exec(process.execPath, args, {
    maxBuffer: 64 << 20,
    timeout: suite.timeoutMs ?? 240_000,
    killSignal: 'SIGKILL',
  });
  child.child.stderr?.pipe(process.stderr);
  const { stdout } = await child;
  const last = stdout.trim().split('\n').at(-1) ?? '{}';
  return JSON.parse(last) as Record<string, number>;
}

const only = process.argv.slice(2);
process.stderr.write('building dist/…\n');
await exec('npm', ['run', 'build'], { cwd: join(HERE, '..') });
const results: Record<string, number> = {};
const failed: string[] = [];
for (const suite of SUITES) {
  if (only.length && !only.some((w) => suite.name.includes(w))) continue;
  // The machine's load when the suite started: on a shared host it explains most of the spread.
  process.stderr.write(
    `running ${suite.name}… (load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(', ')})\n`,
  );
  const t0 = performance.now();
  try {
    Object.assign(results, await runSuite(suite));
  } catch (e) {
    failed.push(suite.name);
    process.stderr.write(`${suite.name} failed: ${(e as Error).message.split('\n')[0]}\n`);
  }
  process.stderr.write(`${suite.name}: ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
}

const file = join(HERE, 'latest.json');
// A run of some suites updates their figures and keeps the others (ratios are recomputed).
const kept =
  only.length && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>) : {};
const all = { ...kept, ...results };
Object.assign(all, ratios(all));
const width = Math.max(...Object.keys(all).map((k) => k.length));
process.stdout.write(`${'metric'.padEnd(width)}  value\n`);
for (const [k, v] of Object.entries(all)) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
writeFileSync(file, `${JSON.stringify(all, null, 2)}\n`);
process.stderr.write(`wrote ${file}${failed.length ? `; failed: ${failed.join(', ')}` : ''}\n`);
if (failed.length) process.exitCode = 1;
