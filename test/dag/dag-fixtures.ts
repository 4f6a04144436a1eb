/** Temp folders of DAG files for loader and registry tests. @module */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface FixtureDir {
  readonly dir: string;
  /** Writes (or overwrites) files, paths relative to `dir`. */
  write(files: Record<string, string>): void;
  remove(): void;
}

/** A fresh temp folder holding `files`; call `remove()` after the test. */
export function fixtureDir(files: Record<string, string> = {}): FixtureDir {
  const dir = mkdtempSync(join(tmpdir(), 'airclutch-dags-'));
  const write = (more: Record<string, string>) => {
    for (const [name, text] of Object.entries(more)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
  };
  write(files);
  return { dir, write, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A small valid DAG file source with the given id and one task returning `value`. */
export function dagSource(id: string, value: string | number = 1, extra = ''): string {
  return [
    "import { dag } from 'airclutch';",
    extra,
    `const d = dag({ id: ${JSON.stringify(id)} });`,
    `d.task('a', () => ${JSON.stringify(value)});`,
    'export default d;',
    '',
  ].join('\n');
}
