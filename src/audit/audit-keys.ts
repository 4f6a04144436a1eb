/** Loads the audit keys named in config: the HMAC key (created on first use) and the Ed25519 checkpoint keys. @module */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { AirclutchError } from '../lib/errors.ts';
import type { AuditConfig } from './audit-config.ts';

interface KeyConfig {
  readonly audit: AuditConfig;
  readonly dataDir: string;
  readonly rootDir: string;
}

function readKeyFile(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new AirclutchError(
      'CONFIG_INVALID',
      `cannot read the ${what} at ${file}: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
}

/**
 * The HMAC key for sensitive values: `audit.hmacKey`, `audit.hmacKeyFile`, or a random key kept at
 * `<dataDir>/audit-hmac.key` so searches keep working across restarts.
 *
 * @example
 * const audit = new SqlAuditLog(db, { hmacKey: loadHmacKey(config) });
 */
export function loadHmacKey(config: KeyConfig): Buffer {
  const { audit } = config;
  if (audit.hmacKey) return Buffer.from(audit.hmacKey, 'utf8');
  const file = audit.hmacKeyFile
    ? resolve(config.rootDir, audit.hmacKeyFile)
    : join(config.dataDir, 'audit-hmac.key');
  if (!audit.hmacKeyFile && !existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    try {
      writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
    } catch (e) {
      // Another process sharing this data folder (a scheduler started beside the server) made it first.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  const text = readKeyFile(file, 'audit HMAC key').trim();
  if (text.length < 16) {
    throw new AirclutchError('CONFIG_INVALID', `the audit HMAC key in ${file} is shorter than 16 characters`);
  }
  return Buffer.from(text, 'utf8');
}

/** The checkpoint signing key, or undefined when `audit.checkpointKeyFile` is not set. */
export function loadCheckpointPrivateKey(config: KeyConfig): KeyObject | undefined {
  if (!config.audit.checkpointKeyFile) return undefined;
  const file = resolve(config.rootDir, config.audit.checkpointKeyFile);
  return parseKey(() => createPrivateKey(readKeyFile(file, 'checkpoint private key')), file, 'private');
}

/** The checkpoint public key from `audit.checkpointPublicKeyFile`, else derived from the private key. */
export function loadCheckpointPublicKey(config: KeyConfig): KeyObject | undefined {
  if (config.audit.checkpointPublicKeyFile)
    return readPublicKeyFile(resolve(config.rootDir, config.audit.checkpointPublicKeyFile));
  const priv = loadCheckpointPrivateKey(config);
  return priv ? createPublicKey(priv) : undefined;
}

/** Reads a PEM Ed25519 public key (for offline `audit verify --public-key`). */
export function readPublicKeyFile(file: string): KeyObject {
  return parseKey(() => createPublicKey(readKeyFile(file, 'checkpoint public key')), file, 'public');
}

function parseKey(make: () => KeyObject, file: string, type: 'private' | 'public'): KeyObject {
  let key: KeyObject;
  try {
    key = make();
  } catch (e) {
    if (e instanceof AirclutchError) throw e;
    throw new AirclutchError('CONFIG_INVALID', `${file} is not a PEM ${type} key: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new AirclutchError(
      'CONFIG_INVALID',
      `${file} holds a ${key.asymmetricKeyType} key; audit checkpoints use Ed25519`,
    );
  }
  return key;
}

/** A new Ed25519 key pair as PEM, for `airclutch audit keygen`. */
export function generateCheckpointKeys(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}
