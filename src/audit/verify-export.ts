/** Verifies an exported JSON Lines file offline, with only the checkpoint public key. @module */
import type { KeyObject } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { AirclutchError } from '../lib/errors.ts';
import { checkpointSignatureValid } from './audit-checkpoint.ts';
import { GENESIS_HASH } from './audit-hash.ts';
import { recordToRow } from './audit-row.ts';
import type { AuditCheckpoint, AuditRecord, VerifyResult } from './audit-types.ts';
import { ChainVerifier } from './chain-verifier.ts';

/**
 * Checks that the file's records form an unbroken chain, and that a checkpoint signed by
 * `publicKey` vouches for its last record. A window that starts mid-chain is anchored by its
 * first record's `prevHash`; the signature over the last record then vouches for every link before it.
 *
 * @example
 * const r = await verifyExport('audit-2026-11.jsonl', readPublicKeyFile('audit-checkpoint.pub.pem'));
 */
export async function verifyExport(file: string, publicKey: KeyObject): Promise<VerifyResult> {
  if (!existsSync(file)) throw new AirclutchError('NOT_FOUND', `export file ${file} does not exist`);
  let v: ChainVerifier | undefined;
  let checkpointsVerified = 0;
  let lineNo = 0;
  const lines = createInterface({
    input: createReadStream(file, 'utf8'),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  const done = (extra: { firstBadSeq?: number; reason?: string } = {}): VerifyResult => {
    lines.close();
    return {
      ok: extra.firstBadSeq === undefined && extra.reason === undefined,
      records: v?.records ?? 0,
      lastSeq: v?.lastSeq ?? 0,
      lastHash: v?.lastHash ?? GENESIS_HASH,
      checkpointsVerified,
      ...extra,
    };
  };
  let coveredUpTo = 0;
  for await (const line of lines) {
    lineNo += 1;
    if (line.trim() === '') continue;
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return done({ firstBadSeq: (v?.lastSeq ?? 0) + 1, reason: `line ${lineNo} is not JSON` });
    }
    if (obj.type === 'checkpoint') {
      const cp = obj as unknown as AuditCheckpoint;
      if (!v || cp.seq !== v.lastSeq || cp.hash !== v.lastHash || !checkpointSignatureValid(publicKey, cp)) {
        return done({
          firstBadSeq: Math.min(cp.seq, (v?.lastSeq ?? 0) + 1),
          reason: `the checkpoint on line ${lineNo} (record ${cp.seq}) is not signed by this key or does not match the records`,
        });
      }
      checkpointsVerified += 1;
      coveredUpTo = cp.seq;
      continue;
    }
    const rec = obj as unknown as AuditRecord;
    v ??= new ChainVerifier(rec.seq - 1, rec.prevHash);
    if (rec.seq === 1 && rec.prevHash !== GENESIS_HASH) {
      return done({ firstBadSeq: 1, reason: 'record 1 does not start from the genesis hash' });
    }
    if (!v.push(recordToRow(rec))) return done(v.failure);
  }
  if (!v) return done({ reason: 'the file holds no records' });
  if (coveredUpTo !== v.lastSeq) {
    return done({
      firstBadSeq:
        coveredUpTo + 1 > v.lastSeq ? v.lastSeq : Math.max(coveredUpTo + 1, v.lastSeq - v.records + 1),
      reason: `records after ${coveredUpTo || 'the start'} are not covered by a signed checkpoint; export with a checkpoint key`,
    });
  }
  return done();
}
