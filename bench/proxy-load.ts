/**
 * The proxy bench's load generator, in its own process: autocannon GETs one URL with one bearer
 * token. `node bin/run-ts.js bench/proxy-load.ts <url> <token-file> <connections> <seconds>` prints
 * autocannon's result as JSON.
 * @module
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  headers: Record<string, string>;
}) => Promise<unknown>;
// autocannon ships no types.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const [url, tokenFile, connections, seconds] = process.argv.slice(2);
const token = readFileSync(tokenFile!, 'utf8').trim();
const result = await autocannon({
  url: url!,
  connections: Number(connections),
  duration: Number(seconds),
  headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
});
process.stdout.write(`${JSON.stringify(result)}\n`);
