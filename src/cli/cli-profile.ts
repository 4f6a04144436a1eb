/**
 * The CLI profile saved by `airclutch login`: the server it signed in for, next to the stored tokens
 * under ~/.config/airclutch (mode 0600), so that later commands talk to the same server.
 * @module
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliConfigDir } from '../identity/cli-token-store.ts';

export interface CliProfile {
  readonly server?: string;
}

/** The file holding the profile. */
export function profileFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(cliConfigDir(env), 'profile.json');
}

/** The saved profile, or an empty one when none was saved (or it is unreadable). */
export function readProfile(env: NodeJS.ProcessEnv = process.env): CliProfile {
  try {
    const parsed = JSON.parse(readFileSync(profileFile(env), 'utf8')) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as CliProfile) : {};
  } catch {
    return {};
  }
}

export function saveProfile(profile: CliProfile, env: NodeJS.ProcessEnv = process.env): void {
  mkdirSync(cliConfigDir(env), { recursive: true, mode: 0o700 });
  writeFileSync(profileFile(env), `${JSON.stringify(profile, null, 2)}\n`, { mode: 0o600 });
}
