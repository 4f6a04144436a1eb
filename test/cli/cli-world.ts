/**
 * A project folder for driving the real `airclutch` binary: DAG files, policies and a config written
 * to a temp folder, one dev IdP started by the test on a free port, so that every CLI process
 * finds it running and none races to start its own, and (unless `server` is false) the project's
 * Airclutch server on a free loopback port, which every CLI process reaches through AIRCLUTCH_URL.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Airclutch } from '../../src/app/create-airclutch.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import type { DevIdp } from '../../src/identity/dev-idp.ts';
import { startConfiguredDevIdp } from '../../src/identity/start-configured-dev-idp.ts';
import { freePort } from '../helpers/free-port.ts';
import { type CliServer, startCliServer } from './cli-server.ts';

const BIN = resolve(import.meta.dirname, '../../bin/airclutch.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliWorld {
  readonly dir: string;
  readonly configPath: string;
  /** The running server's URL (the CLI gets it as AIRCLUTCH_URL), when `server` was not false. */
  readonly url: string | undefined;
  /** The server's Airclutch (its store, gate, registry), when `server` was not false. */
  readonly ac: Airclutch | undefined;
  /** Runs `airclutch -c <config> ...args`; `as` adds `--as`. */
  cli(args: readonly string[], options?: { as?: string; env?: NodeJS.ProcessEnv }): Promise<CliResult>;
  close(): Promise<void>;
}

/** Writes `files` (the config gets the free dev IdP port appended) and, unless `idp` is false, starts the dev IdP. */
export async function cliWorld(
  files: Record<string, string>,
  options: { config?: string; idp?: boolean; server?: boolean } = {},
): Promise<CliWorld> {
  const dir = mkdtempSync(join(tmpdir(), 'airclutch-cli-'));
  const configPath = join(dir, 'airclutch.config.yaml');
  const all: Record<string, string> = {
    ...files,
    'airclutch.config.yaml': `dataDir: data\nidentity:\n  devIdp:\n    port: ${await freePort()}\n${
      options.config ?? 'environments:\n  dev:\n    dags: [dags]\n    policies: [policies]\n'
    }`,
  };
  for (const [name, text] of Object.entries(all)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  let idp: DevIdp | undefined;
  if (options.idp !== false)
    idp = await startConfiguredDevIdp(await loadConfig({ path: configPath }), { quiet: true });
  let server: CliServer | undefined;
  if (options.server !== false) server = await startCliServer(configPath, { idp: false });
  const url = server?.url;
  return {
    dir,
    configPath,
    url,
    ac: server?.ac,
    async cli(args, o = {}) {
      const argv = [BIN, '-c', configPath, ...args, ...(o.as ? ['--as', o.as] : [])];
      // No stored login and no token from the machine running the tests.
      const env = {
        ...process.env,
        XDG_CONFIG_HOME: join(dir, 'xdg'),
        AIRCLUTCH_TOKEN: '',
        AIRCLUTCH_URL: url ?? '',
        ...o.env,
      };
      try {
        const { stdout, stderr } = await promisify(execFile)(process.execPath, argv, {
          cwd: dir,
          env,
          maxBuffer: 64 * 1024 * 1024,
        });
        return { code: 0, stdout, stderr };
      } catch (e) {
        const err = e as { code: number; stdout: string; stderr: string };
        return { code: err.code, stdout: err.stdout, stderr: err.stderr };
      }
    },
    async close() {
      await server?.close();
      await idp?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
