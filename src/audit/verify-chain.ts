/** Verifies the stored chain: every link, the head, and the signed checkpoints. @module */
import type { KeyObject } from 'node:crypto';
import type { Db } from '../store/create-db.ts';
import { checkpointSignatureValid } from './audit-checkpoint.ts';
import type { AuditRow } from './audit-hash.ts';
import type { AuditCheckpoint, VerifyResult } from './audit-types.ts';
import { ChainVerifier } from './chain-verifier.ts';

export interface VerifyChainOptions {
  /** Checks each stored checkpoint's signature too; without it only their hashes are compared. */
  readonly publicKey?: KeyObject | undefined;
  /** Records read per query. */
  readonly pageSize?: number;
}

/**
 * Streams the chain in pages and reports the first bad sequence number, if any.
 *
 * @example
 * const r = await verifyChain(db);
 * if (!r.ok) console.error(`audit chain broken at ${r.firstBadSeq}: ${r.reason}`);
 */
export async function verifyChain(db: Db, options: VerifyChainOptions = {}): Promise<VerifyResult> {
  const pageSize = options.pageSize ?? 5_000;
  const checkpoints = (
    await db.kysely.selectFrom('audit_checkpoints').selectAll().orderBy('seq').execute()
  ).map(
    (c): AuditCheckpoint => ({
      seq: Number(c.seq),
      hash: c.hash,
      ts: Number(c.ts),
      keyId: c.key_id,
      signature: c.signature,
    }),
  );
  const pendingCps = new Map<number, AuditCheckpoint[]>();
  for (const cp of checkpoints) pendingCps.set(cp.seq, [...(pendingCps.get(cp.seq) ?? []), cp]);
  const v = new ChainVerifier();
  let checkpointsVerified = 0;
  const result = (extra: { firstBadSeq?: number; reason?: string } = {}): VerifyResult => ({
    ok: extra.firstBadSeq === undefined,
    records: v.records,
    lastSeq: v.lastSeq,
    lastHash: v.lastHash,
    checkpointsVerified,
    ...extra,
  });
  for (;;) {
    const page = (await db.kysely
      .selectFrom('audit_records')
      .selectAll()
      .where('seq', '>', v.lastSeq)
      .orderBy('seq')
      .limit(pageSize)
      .execute()) as AuditRow[];
    for (const row of page) {
      if (!v.push(row)) return result(v.failure);
      const cps = pendingCps.get(v.lastSeq);
      if (cps) {
        for (const cp of cps) {
          if (
            cp.hash !== v.lastHash ||
            (options.publicKey && !checkpointSignatureValid(options.publicKey, cp))
          ) {
            return result({
              firstBadSeq: cp.seq,
              reason: `checkpoint at record ${cp.seq} does not match the chain (records up to ${cp.seq} were rewritten, or the checkpoint was forged)`,
            });
          }
          checkpointsVerified += 1;
        }
        pendingCps.delete(v.lastSeq);
      }
    }
    if (page.length < pageSize) break;
  }
  const head = await db.kysely
    .selectFrom('audit_head')
    .select(['seq', 'hash'])
    .where('id', '=', 1)
    .executeTakeFirst();
  if (head && Number(head.seq) > v.lastSeq) {
    return result({
      firstBadSeq: v.lastSeq + 1,
      reason: `records ${v.lastSeq + 1}…${head.seq} are missing: the head is at ${head.seq}`,
    });
  }
  if (head && Number(head.seq) < v.lastSeq) {
    const first = Number(head.seq) + 1;
    return result({
      firstBadSeq: first,
      reason: `records ${first}…${v.lastSeq} lie beyond the head at ${head.seq} (inserted)`,
    });
  }
  if (!head || head.hash !== v.lastHash) {
    return result({ firstBadSeq: v.lastSeq, reason: `the chain head does not match record ${v.lastSeq}` });
  }
  const orphan = [...pendingCps.keys()][0];
  if (orphan !== undefined) {
    return result({
      firstBadSeq: v.lastSeq + 1,
      reason: `a checkpoint names record ${orphan}, beyond the last record ${v.lastSeq}`,
    });
  }
  return result();
}
