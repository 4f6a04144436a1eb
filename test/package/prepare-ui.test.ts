import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
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
  it('builds the UI when dist/web has never been built', () => {
    expect(uiBuildIsStale(root)).toBe(true);
  });

  it('leaves a build that is newer than every source and the installed packages, as npx finds it', () => {
    mkdirSync(join(root, 'dist/web'), { recursive: true });
    writeFileSync(join(root, 'dist/web/index.html'), '<html></html>');
    at('dist/web/index.html', 2_000);
    expect(uiBuildIsStale(root)).toBe(false);
  });

  it('builds again after a source deep in ui/ or the lock file changed', () => {
    mkdirSync(join(root, 'dist/web'), { recursive: true });
    writeFileSync(join(root, 'dist/web/index.html'), '<html></html>');
    at('dist/web/index.html', 2_000);
    at('ui/src/pages/dag-page.tsx', 3_000);
    expect(uiBuildIsStale(root)).toBe(true);
    at('ui/src/pages/dag-page.tsx', 1_000);
    at('package-lock.json', 3_000);
    expect(uiBuildIsStale(root)).toBe(true);
  });
});

describe('the web app build', () => {
  it('writes into a folder of dist/ that the TypeScript build neither writes nor cleans', async () => {
    // vite empties its outDir: in a folder tsc also wrote (dist/ui, from src/ui), `npm pack`'s
    // build:ui deleted the compiled server plugin, and the packed server could not start.
    const repo = resolve(import.meta.dirname, '../..');
    const { default: config } = await import('../../ui/vite.config.ts');
    const outDir = config.build!.outDir!;
    expect(dirname(outDir)).toBe(join(repo, 'dist'));
    expect(existsSync(join(repo, 'src', basename(outDir)))).toBe(false);
    const build = (
      JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    ).scripts.build!;
    expect(build).toContain(`if(e!=='${basename(outDir)}')`);
  });
});
