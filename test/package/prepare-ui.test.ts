import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain JavaScript script, run by npm before anything is built.
import { uiBuildIsStale } from '../../bin/prepare-ui.js';

let root: string;
const at = (path: string, seconds: number) => utimesSync(join(root, path), seconds, seconds);

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'airclutch-prepare-'));
  mkdirSync(join(root, 'ui/src/pages'), { recursive: true });
  writeFileSync(join(root, 'ui/src/pages/dag-page.tsx'), 'export {};');
  writeFileSync(join(root, 'package.json'), '{}');
  writeFileSync(join(root, 'package-lock.json'), '{}');
  for (const p of [
    'ui/src/pages/dag-page.tsx',
    'ui/src/pages',
    'ui/src',
    'ui',
    'package.json',
    'package-lock.json',
  ])
    at(p, 1_000);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('prepare-ui (npm prepare)', () => {
  it('builds the UI when dist/ui has never been built', () => {
    expect(uiBuildIsStale(root)).toBe(true);
  });

  it('leaves a build that is newer than every source and the installed packages, as npx finds it', () => {
    mkdirSync(join(root, 'dist/ui'), { recursive: true });
    writeFileSync(join(root, 'dist/ui/index.html'), '<html></html>');
    at('dist/ui/index.html', 2_000);
    expect(uiBuildIsStale(root)).toBe(false);
  });

  it('builds again after a source deep in ui/ or the lock file changed', () => {
    mkdirSync(join(root, 'dist/ui'), { recursive: true });
    writeFileSync(join(root, 'dist/ui/index.html'), '<html></html>');
    at('dist/ui/index.html', 2_000);
    at('ui/src/pages/dag-page.tsx', 3_000);
    expect(uiBuildIsStale(root)).toBe(true);
    at('ui/src/pages/dag-page.tsx', 1_000);
    at('package-lock.json', 3_000);
    expect(uiBuildIsStale(root)).toBe(true);
  });
});
