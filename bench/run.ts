/**
 * `npm run bench`: runs every benchmark, prints a table, and writes `bench/latest.json` as
 * `{ "metric": number }`. Benchmarks measure; tests assert behaviour. Each figure is a median over
 * several repetitions (the machine is shared and noisy).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchAudit } from './audit.ts';
import { benchEngine } from './engine.ts';
import { benchGate } from './gate.ts';
import { benchHttp } from './http.ts';
import { benchPolicy } from './policy.ts';
import { benchVerify } from './verify.ts';

const only = process.argv[2];
const suites: Array<[string, () => Promise<Record<string, number>>]> = [
  ['engine (sqlite)', () => benchEngine('sqlite')],
  ['engine (postgres)', () => benchEngine('postgres')],
  ['identity', benchVerify],
  ['policy', benchPolicy],
  ['gate', benchGate],
  ['audit', benchAudit],
  ['http', benchHttp],
  ['cli', async () => (await import('./cli.ts')).benchCli()],
];

const results: Record<string, number> = {};
for (const [name, run] of suites) {
  if (only && !name.includes(only)) continue;
  process.stderr.write(`running ${name}…\n`);
  Object.assign(results, await run());
}

const width = Math.max(...Object.keys(results).map((k) => k.length));
process.stdout.write(`${'metric'.padEnd(width)}  value\n`);
for (const [k, v] of Object.entries(results)) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
const file = join(dirname(fileURLToPath(import.meta.url)), 'latest.json');
// A run of some suites (`npm run bench -- gate`) updates their figures and keeps the others.
const kept =
  only && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>) : {};
writeFileSync(file, `${JSON.stringify({ ...kept, ...results }, null, 2)}\n`);
process.stderr.write(`wrote ${file}\n`);
