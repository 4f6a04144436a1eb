/** The CLI's tokens on disk: `$XDG_CONFIG_HOME/airclutch/tokens.json` (or `~/.config/airclutch`), mode 0600. @module */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface StoredTokens {
  readonly issuer: string;
  readonly clientId: string;
  readonly accessToken: string;
  readonly refreshToken?: string | undefined;
  readonly idToken?: string | undefined;
  /** Epoch ms. */
  readonly expiresAt: number;
}

/** The Airclutch folder under the user's config dir. */
export function cliConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'airclutch');
}

/**
 * Reads and writes `tokens.json`; the file is created 0600 in a 0700 folder and replaced atomically.
 *
 * @example
 * const store = new CliTokenStore(); store.save(tokens); store.load();
 */
export class CliTokenStore {
  readonly file: string;

  constructor(dir: string = cliConfigDir()) {
    this.file = join(dir, 'tokens.json');
  }

  load(): StoredTokens | undefined {
    if (!existsSync(this.file)) return undefined;
    return JSON.parse(readFileSync(this.file, 'utf8')) as StoredTokens;
  }

  save(tokens: StoredTokens): void {
    const dir = join(this.file, '..');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(tokens, null, 2), { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.file);
  }
}
