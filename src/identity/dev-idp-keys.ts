/** The dev IdP's signing and cookie keys, persisted under `<dataDir>/dev-idp/` so tokens outlive a restart. @module */
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';

export interface DevIdpKeys {
  readonly jwks: { keys: JWK[] };
  readonly cookieKeys: string[];
}

/**
 * Loads the keys from `<dataDir>/dev-idp/keys.json`, creating them (mode 0600) on first use.
 *
 * @example
 * const { jwks } = await loadOrCreateDevIdpKeys('.airclutch');
 */
export async function loadOrCreateDevIdpKeys(dataDir: string): Promise<DevIdpKeys> {
  const dir = join(dataDir, 'dev-idp');
  const file = join(dir, 'keys.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as DevIdpKeys;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const jwks = { keys: [await newSigningJwk('RS256'), await newSigningJwk('ES256')] };
  const keys: DevIdpKeys = { jwks, cookieKeys: [randomBytes(32).toString('base64url')] };
  // Written aside and linked into place: commands started together agree on one set of keys, and
  // none reads a half-written file. The loser of the race uses the winner's keys.
  const tmp = join(dir, `keys.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  writeFileSync(tmp, JSON.stringify(keys, null, 2), { mode: 0o600 });
  try {
    linkSync(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return JSON.parse(readFileSync(file, 'utf8')) as DevIdpKeys;
  } finally {
    rmSync(tmp, { force: true });
  }
  return keys;
}

async function newSigningJwk(alg: 'RS256' | 'ES256'): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, alg, use: 'sig', kid: await calculateJwkThumbprint(jwk) };
}
