/**
 * The version of this Airclutch, read from its package.json (the same path from src/ and dist/).
 * The server sends it in the `airclutch-version` header; the CLI checks it before trusting an answer.
 * @module
 */
import { readFileSync } from 'node:fs';

/** The response header that names an Airclutch server and its version. */
export const VERSION_HEADER = 'airclutch-version';

let cached: string | undefined;

/** This package's version, e.g. `0.1.0`. */
export function airclutchVersion(): string {
  cached ??= (
    JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  ).version;
  return cached;
}

/**
 * Whether a client of version `a` can talk to a server of version `b`: the same major version (the
 * same minor while the major is 0, where a minor release may change the API).
 */
export function versionsCompatible(a: string, b: string): boolean {
  const [ma, na] = a.split('.');
  const [mb, nb] = b.split('.');
  return ma === mb && (ma !== '0' || na === nb);
}
