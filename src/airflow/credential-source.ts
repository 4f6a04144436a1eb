/**
 * Reads a secret from where the config says it lives: an environment variable, a file (re-read when
 * its modification time changes, as a mounted Kubernetes secret is swapped), or a command's stdout
 * (a secrets manager's CLI, run without a shell and cached for `cacheMs`). The secret is never
 * logged and never part of an error message.
 * @module
 */
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { AirclutchError, describeThrown } from '../lib/errors.ts';
import type { CredentialSourceConfig } from './airflow-config.ts';

export interface CredentialSource {
  /** The current secret, without a trailing newline. */
  read(): Promise<string>;
  /** Where it comes from, for messages: `env AIRFLOW_PASSWORD`, `file /run/secrets/x`, `command vault`. */
  readonly label: string;
}

/**
 * @example
 * const pw = credentialSource({ env: 'AIRFLOW_PASSWORD' });
 * await pw.read();
 */
export function credentialSource(
  cfg: CredentialSourceConfig,
  opts: { rootDir?: string; now?: () => number; env?: NodeJS.ProcessEnv } = {},
): CredentialSource {
  if ('env' in cfg) return envSource(cfg.env, opts.env ?? process.env);
  if ('file' in cfg) {
    const path = isAbsolute(cfg.file) ? cfg.file : resolve(opts.rootDir ?? process.cwd(), cfg.file);
    return fileSource(path);
  }
  return commandSource(cfg.command, cfg.cacheMs, opts.now ?? Date.now);
}

function unavailable(label: string, why: string, cause?: unknown): AirclutchError {
  return new AirclutchError('AIRFLOW_CREDENTIAL_UNAVAILABLE', `the Airflow credential from ${label} ${why}`, {
    cause,
    details: { source: label },
  });
}

function envSource(name: string, env: NodeJS.ProcessEnv): CredentialSource {
  const label = `env ${name}`;
  return {
    label,
    async read() {
      const v = env[name];
      if (!v) throw unavailable(label, `is not set: export ${name} in the server's environment`);
      return v.replace(/\r?\n$/, '');
    },
  };
}

function fileSource(path: string): CredentialSource {
  const label = `file ${path}`;
  let cached: { mtimeMs: number; size: number; value: string } | undefined;
  return {
    label,
    async read() {
      try {
        const s = await stat(path);
        if (cached && cached.mtimeMs === s.mtimeMs && cached.size === s.size) return cached.value;
        const value = (await readFile(path, 'utf8')).replace(/\r?\n$/, '');
        if (!value) throw unavailable(label, 'is empty');
        cached = { mtimeMs: s.mtimeMs, size: s.size, value };
        return value;
      } catch (e) {
        if (e instanceof AirclutchError) throw e;
        throw unavailable(
          label,
          `cannot be read (${(e as NodeJS.ErrnoException).code ?? describeThrown(e)})`,
          e,
        );
      }
    },
  };
}

function commandSource(argv: string[], cacheMs: number, now: () => number): CredentialSource {
  const [cmd, ...args] = argv as [string, ...string[]];
  const label = `command ${cmd}`;
  let cached: { at: number; value: string } | undefined;
  return {
    label,
    async read() {
      if (cached && now() - cached.at < cacheMs) return cached.value;
      const value = await new Promise<string>((res, rej) => {
        execFile(cmd, args, { timeout: 30_000, maxBuffer: 64 * 1024 }, (err, stdout) => {
          // stderr is not shown: a secrets CLI may echo what it was asked for.
          if (err) rej(unavailable(label, `failed (${err.code ?? err.signal ?? 'error'})`, undefined));
          else res(String(stdout).replace(/\r?\n$/, ''));
        });
      });
      if (!value) throw unavailable(label, 'printed nothing');
      cached = { at: now(), value };
      return value;
    },
  };
}
