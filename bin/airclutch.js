#!/usr/bin/env node
// The CLI entry. The installed package runs the compiled JavaScript in dist/ on plain Node. A clone
// (src/ beside bin/, with the dev dependency tsx) runs the TypeScript source through tsx instead,
// so an edit applies without a build and tests never run a stale dist/.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
const tsx = existsSync(source) ? await import('tsx/esm/api').catch(() => undefined) : undefined;
tsx?.register();
const { main } = await import(tsx ? source.href : '../dist/cli/main.js');
await main(process.argv);
