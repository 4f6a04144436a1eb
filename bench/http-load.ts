/**
 * The HTTP bench's load generator, in its own process: autocannon against one URL, each request
 * with the next of many access tokens (a file, one a line) and its own params.
 * `node <bench/http-load.ts compiled by bench/compile-suite.ts> <url> <tokens-file> <connections> <seconds>` prints
 * autocannon's result as JSON.
 * @module
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

interface Req {
  headers?: Record<string, string>;
  body?: string;
}
type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  method: string;
  requests: Array<{ setupRequest: (req: Req) => Req }>;
}) => Promise<unknown>;
// autocannon ships no types.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const [url, tokensFile, connections, seconds] = process.argv.slice(2);
const tokens = readFileSync(tokensFile!, 'utf8').trim().split('\n');
let n = 0;

const result = await autocannon({
  url: url!,
  connections: Number(connections),
  duration: Number(seconds),
  method: 'POST',
  requests: [
    {
      setupRequest: (req) => {
        const i = n++;
        return {
          ...req,
          headers: {
            authorization: `Bearer ${tokens[i % tokens.length]}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify({ params: { rows: 1_000 + (i % 5_000), region: i % 2 ? 'eu' : 'us' } }),
        };
      },
    },
  ],
});
process.stdout.write(`${JSON.stringify(result)}\n`);
