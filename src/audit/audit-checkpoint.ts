/** Signed checkpoints: Ed25519 over (seq, hash) of the chain, checkable later with only the public key. @module */
import { createHash, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { canonicalJson } from '../lib/canonical-json.ts';
import type { AuditCheckpoint } from './audit-types.ts';

const STATEMENT_VERSION = 'airclutch-audit-checkpoint/1';

/** First 16 hex digits of SHA-256 over the public key's SPKI DER: names the key in checkpoints. */
export function keyIdOf(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256')
    .update(pub.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

function statement(cp: Pick<AuditCheckpoint, 'seq' | 'hash' | 'ts' | 'keyId'>): Buffer {
  return Buffer.from(
    canonicalJson({ v: STATEMENT_VERSION, seq: cp.seq, hash: cp.hash, ts: cp.ts, keyId: cp.keyId }),
  );
}

/**
 * Signs the statement "record `seq` of the chain has hash `hash`".
 *
 * @example
 * const cp = signCheckpoint(privateKey, { seq: 1200, hash: head.hash, ts: Date.now() });
 */
export function signCheckpoint(
  privateKey: KeyObject,
  at: { seq: number; hash: string; ts: number },
): AuditCheckpoint {
  if (privateKey.asymmetricKeyType !== 'ed25519' || privateKey.type !== 'private') {
    throw new TypeError('audit checkpoints need an Ed25519 private key (config `audit.checkpointKeyFile`)');
  }
  const keyId = keyIdOf(privateKey);
  const signature = sign(null, statement({ ...at, keyId }), privateKey).toString('base64');
  return { seq: at.seq, hash: at.hash, ts: at.ts, keyId, signature };
}

/** True when the checkpoint was signed by `publicKey` and is unchanged. */
export function checkpointSignatureValid(publicKey: KeyObject, cp: AuditCheckpoint): boolean {
  if (cp.keyId !== keyIdOf(publicKey)) return false;
  try {
    return verify(null, statement(cp), publicKey, Buffer.from(cp.signature, 'base64'));
  } catch {
    return false;
  }
}
