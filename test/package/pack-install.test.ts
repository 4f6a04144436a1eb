/**
 * The package as a new user gets it: `npm pack`, `npm install` of the tarball into a fresh project,
 * then `airclutch init`, `policy test`, `dags validate`, `dev` and a trigger there, all on plain
 * Node from the compiled dist/ (no TypeScript loader).
 */

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.ts';
import { ensureUiBuilt } from '../ui/ui-world.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
let tmp: string;
let project: string;
let tarball: string;
let ports: { api: number; idp: number };

/**
 * The environment for child processes: without the `npm_*` variables `npm test` sets (they would
 * point the nested npm at this repository) and without Airclutch overrides from the outer shell.
 */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(npm_|AIRCLUTCH_|NODE_OPTIONS$|VITEST)/i.test(k)) env[k] = v;
  }
  return {
    ...env,
    AIRCLUTCH_PORT: String(ports.api),
    AIRCLUTCH_DEV_IDP_PORT: String(ports.idp),
    NO_COLOR: '1',
  };
}

async function sh(cmd: string, args: string[], cwd: string) {
  return run(cmd, args, { cwd, env: childEnv(), maxBuffer: 64 * 1024 * 1024 });
}

async function cli(...args: string[]) {
  return sh('npx', ['--no', 'airclutch', ...args], project);
}

beforeAll(async () => {
  ports = { api: await freePort(), idp: await freePort() };
  tmp = mkdtempSync(join(tmpdir(), 'airclutch-pack-'));
  // What prepack does, without rebuilding dist/web in place: other test files serve it meanwhile.
  // The compiled JavaScript is rebuilt (tests run from src/); the UI is built only when missing.
  await sh('npm', ['run', 'build'], ROOT);
  ensureUiBuilt();
  const { stdout } = await sh('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], ROOT);
  tarball = join(tmp, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
  project = join(tmp, 'fresh-project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), '{ "name": "fresh-project", "private": true }\n');
  // Install scripts are skipped: better-sqlite3 would compile for minutes (its prebuilt binaries
  // are on GitHub, out of reach here); the addon this repository already built is the same version.
  await sh(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball],
    project,
  );
  const addon = 'node_modules/better-sqlite3/build/Release/better_sqlite3.node';
  mkdirSync(join(project, addon, '..'), { recursive: true });
  copyFileSync(join(ROOT, addon), join(project, addon));
}, 900_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('ships compiled JavaScript with .d.ts files and source maps, the built web UI, and no TypeScript source or tests', async () => {
    const { stdout } = await run('tar', ['-tzf', tarball]);
    const files = stdout.trim().split('\n');
    expect(files).toEqual(
      expect.arrayContaining([
        'package/package.json',
        'package/bin/airclutch.js',
        'package/dist/index.js',
        'package/dist/index.d.ts',
        'package/dist/index.js.map',
        'package/dist/embed.js',
        'package/dist/embed.d.ts',
        'package/dist/cli/main.js',
        'package/dist/ui/ui-plugin.js',
        'package/dist/zod.js',
        'package/dist/web/index.html',
        'package/templates/init/airclutch.config.ts',
      ]),
    );
    // The init templates are the user's files-to-be, not Airclutch's source.
    const source = files.filter(
      (f) => /\.(c|m)?tsx?$/.test(f) && !f.endsWith('.d.ts') && !f.startsWith('package/templates/'),
    );
    expect(source).toEqual([]);
    expect(files.filter((f) => /(^|\/)(test|bench|examples|src)\//.test(f))).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(project, 'node_modules/airclutch/package.json'), 'utf8'));
    expect(Object.keys(pkg.dependencies)).not.toContain('tsx');
    expect(pkg.exports['.']).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
    expect(pkg.bin.airclutch).toBe('bin/airclutch.js');
    expect(existsSync(join(project, 'node_modules/tsx'))).toBe(false);
  });

  it('imports from plain Node, both the DAG API and the embed API', async () => {
    const { stdout } = await sh(
      'node',
      [
        '-e',
        "Promise.all([import('airclutch'), import('airclutch/embed')]).then(([a, e]) => " +
          'console.log(typeof a.dag, typeof a.defineConfig, typeof e.embedAirclutch))',
      ],
      project,
    );
    expect(stdout.trim()).toBe('function function function');
  });

  it('scaffolds a project with init whose policy tests pass, whose DAGs validate and typecheck, and runs it in dev', async () => {
    const init = await cli('init');
    expect(init.stdout).toContain('created dags/hello.ts');

    const tests = await cli('policy', 'test');
    expect(tests.stdout).not.toMatch(/^fail/m);
    expect(tests.stdout).toContain('pass    someone in no group is denied');

    const validate = await cli('dags', 'validate');
    expect(validate.stdout).toContain('3 DAGs loaded, 0 import errors');

    // The shipped .d.ts files type the user's DAG and config (the repository's TypeScript compiler).
    await sh('node', [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], project);

    const dev = spawn('npx', ['--no', 'airclutch', 'dev'], { cwd: project, env: childEnv(), detached: true });
    try {
      await untilHealthy(dev, `http://127.0.0.1:${ports.api}/healthz`);
      const trigger = await cli('trigger', 'hello', '--as', 'eng@example.com', '-p', 'name=pack', '--wait');
      const id = /^run (\S+) of dev\/hello queued: /m.exec(trigger.stdout)?.[1];
      expect(trigger.stdout).toContain(
        `run ${id} of dev/hello queued: http://127.0.0.1:${ports.api}/runs/${id}\n`,
      );
      expect(trigger.stdout).toMatch(/^run \S+ success$/m);
    } finally {
      await stop(dev);
    }
  }, 300_000);
});

/** Polls /healthz until the server answers (dev mode loads DAGs and starts its IdP first). */
async function untilHealthy(child: ChildProcess, url: string): Promise<void> {
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  for (let i = 0; i < 240; i++) {
    if (child.exitCode !== null) throw new Error(`airclutch dev exited early:\n${output}`);
    if (
      await fetch(url)
        .then((r) => r.ok)
        .catch(() => false)
    )
      return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`airclutch dev did not answer ${url}:\n${output}`);
}

/** SIGTERM to the whole process group (npx and the node it started), then wait for it to exit. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(-child.pid!, 'SIGTERM');
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 60_000);
  await exited;
  clearTimeout(timer);
}
