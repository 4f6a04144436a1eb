import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { scaffoldProject } from '../../src/cli/scaffold-project.ts';
import { isAirclutchError } from '../../src/lib/errors.ts';

const BIN = resolve(import.meta.dirname, '../../bin/airclutch.js');
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'airclutch-init-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)('node', [BIN, ...args], { cwd: dir });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/** Every file under `dir` with its content, to show that nothing changed. */
function snapshot(): Record<string, string> {
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8', withFileTypes: false });
  const out: Record<string, string> = {};
  for (const f of files.sort()) {
    try {
      out[f] = readFileSync(join(dir, f), 'utf8');
    } catch {
      out[f] = '(folder)';
    }
  }
  return out;
}

function refusal(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (isAirclutchError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('airclutch init', () => {
  it('scaffolds a project in an empty folder whose policy tests pass and whose DAGs validate', async () => {
    const init = await cli('init');
    expect(init.code).toBe(0);
    expect(init.stdout).toContain('created airclutch.config.ts');
    expect(Object.keys(snapshot())).toEqual(
      expect.arrayContaining([
        'airclutch.config.ts',
        'dags/hello.ts',
        'dags/hello.cedar',
        'dags/hello.cedar-test.yaml',
        'policies/roles.cedar',
        'tsconfig.json',
        '.gitignore',
      ]),
    );
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toMatch(/^\.airclutch\/$/m);

    const tests = await cli('policy', 'test');
    expect(tests.stderr).toBe('');
    expect(tests.code).toBe(0);
    expect(tests.stdout).toContain('pass    data-eng needs a data-lead');
    expect(tests.stdout).not.toMatch(/^fail/m);

    const validate = await cli('dags', 'validate');
    expect(validate.code).toBe(0);
    // One DAG in each of dev, staging and prod.
    expect(validate.stdout).toContain('3 DAGs loaded, 0 import errors');
  });

  it('validates the policies, and names the broken line without claiming a server lost its set', async () => {
    expect((await cli('init')).code).toBe(0);
    const ok = await cli('policy', 'validate');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^ok: \d+ policies valid$/m);

    const file = join(dir, 'dags/hello.cedar');
    writeFileSync(
      file,
      `${readFileSync(file, 'utf8')}\npermit (principal, action, resource) when { context.params.name == };\n`,
    );
    const broken = await cli('policy', 'validate');
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/^error\[POLICY_INVALID\]: the policies do not load \(1 problem\)/);
    expect(broken.stderr).toContain('a running server keeps the set it has until they do');
    expect(broken.stderr).toMatch(/dags\/hello\.cedar:\d+:\d+: .*unexpected token/);
    expect(broken.stderr).not.toContain('every request is denied');
  });

  it('refuses a folder that already has a config, names it, and changes nothing', async () => {
    writeFileSync(join(dir, 'airclutch.config.yaml'), 'environments: {}\n');
    writeFileSync(join(dir, '.gitignore'), 'node_modules/\n');
    const before = snapshot();
    const r = await cli('init');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `error[PROJECT_EXISTS]: ${dir} already has an Airclutch project (airclutch.config.yaml); init changed nothing. ` +
        'Edit that config, or run `airclutch init` in an empty folder.\n',
    );
    expect(snapshot()).toEqual(before);
  });

  it('refuses, changing nothing, when a file it would write is already there', () => {
    mkdirSync(join(dir, 'dags'));
    writeFileSync(join(dir, 'dags/hello.ts'), '// mine\n');
    writeFileSync(join(dir, 'dags/hello.cedar'), '// mine too\n');
    const before = snapshot();
    const e = refusal(() => scaffoldProject(dir));
    expect(e.code).toBe('PROJECT_EXISTS');
    expect(e.message).toBe(
      `${dir} already has dags/hello.cedar, dags/hello.ts, which init would write; init changed nothing. ` +
        'Move those files away, or run `airclutch init` in an empty folder.',
    );
    expect(snapshot()).toEqual(before);
  });

  it('keeps an existing tsconfig.json and adds the data dir to an existing .gitignore once', () => {
    writeFileSync(join(dir, 'tsconfig.json'), '{ "mine": true }\n');
    writeFileSync(join(dir, '.gitignore'), 'node_modules/');
    const r = scaffoldProject(dir);
    expect(r.kept).toEqual(['tsconfig.json']);
    expect(r.created).not.toContain('tsconfig.json');
    expect(r.gitignoreUpdated).toBe(true);
    expect(readFileSync(join(dir, 'tsconfig.json'), 'utf8')).toBe('{ "mine": true }\n');
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toBe(
      "node_modules/\n# Airclutch's local data: SQLite store, logs, DAG bundles\n.airclutch/\n",
    );
  });

  it('leaves a .gitignore that already ignores the data dir as it is', () => {
    writeFileSync(join(dir, '.gitignore'), '/.airclutch\n');
    expect(scaffoldProject(dir).gitignoreUpdated).toBe(false);
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toBe('/.airclutch\n');
  });
});
