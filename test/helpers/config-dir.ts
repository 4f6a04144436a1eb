import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';

/** For a test file: makes folders holding one `airclutch.config.yaml` each, removed after each test. */
export function configDirs(): (yaml: string) => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return (yaml) => {
    const d = mkdtempSync(join(tmpdir(), 'airclutch-cfg-'));
    dirs.push(d);
    writeFileSync(join(d, 'airclutch.config.yaml'), yaml);
    return d;
  };
}
