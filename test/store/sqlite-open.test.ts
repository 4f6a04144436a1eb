import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AirclutchError } from '../../src/lib/errors.ts';
import { createDb } from '../../src/store/create-db.ts';
import { sqliteOpenFailure } from '../../src/store/sqlite-dialect.ts';
import { thrown } from '../helpers/thrown.ts';

const dir = mkdtempSync(join(tmpdir(), 'airclutch-sqlite-open-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('opening a SQLite store', () => {
  it('refuses a store whose folder cannot be made with STORE_UNAVAILABLE, naming the file and what to change', () => {
    writeFileSync(join(dir, 'a-file'), 'not a folder');
    const file = join(dir, 'a-file', 'airclutch.db');
    const e = thrown(() => createDb({ url: file })) as AirclutchError;
    expect(e).toBeInstanceOf(AirclutchError);
    expect(e.code).toBe('STORE_UNAVAILABLE');
    expect(e.message).toContain(`the SQLite store ${file} cannot be opened`);
    expect(e.message).toContain(
      'fix: point `databaseUrl` or `dataDir` at a folder this user can create and write',
    );
  });

  it('says to approve and rebuild better-sqlite3 when its install script never built its native module', () => {
    // The very error better-sqlite3 throws then: its `bindings` lookup finds no module file.
    const driver = createRequire(import.meta.url).resolve('better-sqlite3/package.json');
    const bindings = createRequire(driver)('bindings') as (o: object) => unknown;
    const missing = thrown(() =>
      bindings({ bindings: 'airclutch_never_built.node', module_root: dirname(driver) }),
    );
    const e = sqliteOpenFailure('.airclutch/airclutch.db', missing);
    expect(e.code).toBe('STORE_UNAVAILABLE');
    expect(e.message).toContain('better-sqlite3, has no native module');
    expect(e.message).toContain('fix: `npm approve-scripts better-sqlite3 && npm rebuild better-sqlite3`');
    expect(e.cause).toBe(missing);
  });

  it('says to rebuild better-sqlite3 when it was built for another Node.js', () => {
    // Node's own message for an addon of another ABI.
    const other = new Error(
      "The module '/app/node_modules/better-sqlite3/build/Release/better_sqlite3.node'\nwas compiled against a different Node.js version using\nNODE_MODULE_VERSION 127. This version of Node.js requires\nNODE_MODULE_VERSION 115. Please try re-compiling or re-installing\nthe module (for instance, using `npm rebuild` or `npm install`).",
    );
    const e = sqliteOpenFailure('.airclutch/airclutch.db', other);
    expect(e.message).toContain(`was built for another Node.js than this one (${process.version})`);
    expect(e.message).toContain('fix: `npm rebuild better-sqlite3`');
  });

  it('prints the refusal and its code from the CLI, with no stack trace', async () => {
    const file = join(dir, 'a-file', 'cli.db');
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['bin/airclutch.js', 'audit', 'verify'], {
        cwd: process.cwd(),
        env: { ...process.env, AIRCLUTCH_DATABASE_URL: file, NO_COLOR: '1' },
      });
      let err = '';
      child.stderr.on('data', (b: Buffer) => {
        err += b;
      });
      child.on('close', (c) => resolve({ code: c, stderr: err }));
    });
    expect(code).not.toBe(0);
    expect(stderr).toContain(`error[STORE_UNAVAILABLE]: the SQLite store ${file} cannot be opened`);
    expect(stderr).not.toContain('    at ');
  });
});
