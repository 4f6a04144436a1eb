#!/usr/bin/env node
// The CLI entry: registers the TypeScript loader (DAG files and Airclutch itself are TypeScript),
// then hands over to the CLI module.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
