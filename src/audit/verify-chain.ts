/** Verifies the stored chain: every link up to the head, the head itself, and the signed checkpoints. @module */
import type { KeyObject } from 'node:crypto';
import type { Db } from '../store/create-db.ts';
import { checkpointSignatureValid } from './audit-checkpoint.ts';
import { type AuditRow, GENESIS_HASH } from './audit-hash.ts';
import type { AuditCheckpoint, VerifyResult } from './audit-types.ts';
import { type ChainFailure, ChainVerifier } from './chain-verifier.ts';
import { type RangeResult, verifySqliteRanges } from './sqlite-range-verify.ts';

export interface VerifyChainOptions {
  /** Checks each stored checkpoint's signature too; without it only their hashes are compared. */
  readonly publicKey?: KeyObject | undefined;
  /** Records read per query on the in-process path. */
  readonly pageSize?: number;
  /**
   * SQLite only: verify ranges in worker threads (default: for chains above 50,000 records). A
   * number sets how many ranges.
   */
  readonly parallel?: boolean | number;
}

/**
 * Verifies records 1…head (records appended meanwhile are left for the next run) and reports the
 * first bad sequence number, if any.
 *
 * @example
 * const r = await verifyChain(db, { publicKey });
 * if (!r.ok) console.error(`audit chain broken at ${r.firstBadSeq}: ${r.reason}`);
 */
export async function verifyChain(db: Db, options: VerifyChainOptions = {}): Promise<VerifyResult> {
  const head = await readHead(db);
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
  const cpSeqs = [...new Set(checkpoints.map((c) => c.seq).filter((s) => s <= head.seq))];
  const useWorkers =
    db.dialect === 'sqlite' && db.description !== ':memory:' && (options.parallel ?? head.seq > 50_000);
  const ranges = useWorkers
    ? await verifySqliteRanges(
        db.description,
        head.seq,
        cpSeqs,
        typeof options.parallel === 'number' ? options.parallel : undefined,
      )
    : [await verifyInProcess(db, head.seq, new Set(cpSeqs), options.pageSize ?? 5_000)];

  let records = 0;
  let lastSeq = 0;
  let lastHash = GENESIS_HASH;
  const hashesAt = new Map<number, string>();
  let failure: ChainFailure | undefined;
  for (const r of ranges) {
    if (r.firstPrevHash !== null && r.firstPrevHash !== lastHash) {
      failure = {
        firstBadSeq: r.from,
        reason: `record ${r.from} does not link to record ${r.from - 1} (inserted, reordered or edited)`,
      };
      break;
    }
    records += r.records;
    if (r.lastHash !== null) {
      lastSeq = r.lastSeq;
      lastHash = r.lastHash;
    }
    for (const [s, h] of Object.entries(r.hashesAt)) hashesAt.set(Number(s), h);
    if (r.failure) {
      failure = r.failure;
      break;
    }
  }
  const result = (f?: ChainFailure, checkpointsVerified = 0): VerifyResult => ({
    ok: f === undefined,
    records,
    lastSeq,
    lastHash,
    checkpointsVerified,
    ...(f ?? {}),
  });
  if (failure) return result(failure);
  if (head.hash !== lastHash) {
    return result({ firstBadSeq: lastSeq, reason: `the chain head does not match record ${lastSeq}` });
  }

  let verified = 0;
  for (const cp of checkpoints) {
    if (cp.seq > head.seq) continue;
    const ok = hashesAt.get(cp.seq) === cp.hash;
    if (!ok || (options.publicKey && !checkpointSignatureValid(options.publicKey, cp))) {
      return result(
        {
          firstBadSeq: cp.seq,
          reason: `checkpoint at record ${cp.seq} does not match the chain (records up to ${cp.seq} were rewritten, or the checkpoint was forged)`,
        },
        verified,
      );
    }
    verified += 1;
  }
  // Appends may have moved the head meanwhile; anything beyond the head as it is now was slipped in.
  const now = await readHead(db);
  const beyond = await db.kysely
    .selectFrom('audit_records')
    .select('seq')
    .where('seq', '>', now.seq)
    .orderBy('seq')
    .limit(1)
    .executeTakeFirst();
  if (beyond) {
    const first = now.seq + 1;
    return result(
      { firstBadSeq: first, reason: `record ${beyond.seq} lies beyond the head at ${now.seq} (inserted)` },
      verified,
    );
  }
  const orphan = checkpoints.find((c) => c.seq > now.seq);
  if (orphan) {
    return result(
      {
        firstBadSeq: now.seq + 1,
        reason: `a checkpoint names record ${orphan.seq}, beyond the head at ${now.seq} (records deleted)`,
      },
      verified,
    );
  }
  return result(undefined, verified);
}

async function readHead(db: Db): Promise<{ seq: number; hash: string }> {
  const head = await db.kysely
    .selectFrom('audit_head')
    .select(['seq', 'hash'])
    .where('id', '=', 1)
    .executeTakeFirst();
  return head ? { seq: Number(head.seq), hash: head.hash } : { seq: 0, hash: GENESIS_HASH };
}

/** Records 1…headSeq through Kysely, page by page. */
async function verifyInProcess(
  db: Db,
  headSeq: number,
  cpSeqs: Set<number>,
  pageSize: number,
): Promise<RangeResult> {
  const v = new ChainVerifier();
  const hashesAt: Record<number, string> = {};
  while (v.lastSeq < headSeq && !v.failure) {
    const page = (await db.kysely
      .selectFrom('audit_records')
      .selectAll()
      .where('seq', '>', v.lastSeq)
      .where('seq', '<=', headSeq)
      .orderBy('seq')
      .limit(pageSize)
      .execute()) as AuditRow[];
    if (page.length === 0) break;
    for (const row of page) {
      if (!v.push(row)) break;
      if (cpSeqs.has(v.lastSeq)) hashesAt[v.lastSeq] = v.lastHash;
    }
  }
  const failure =
    v.failure ??
    (v.lastSeq < headSeq
      ? {
          firstBadSeq: v.lastSeq + 1,
          reason: `records ${v.lastSeq + 1}…${headSeq} are missing: the head is at ${headSeq}`,
        }
      : undefined);
  return {
    from: 1,
    to: headSeq,
    records: v.records,
    firstPrevHash: GENESIS_HASH,
    lastSeq: v.lastSeq,
    lastHash: v.records > 0 ? v.lastHash : null,
    hashesAt,
    failure,
  };
}
