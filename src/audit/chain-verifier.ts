/** The incremental check shared by `verifyChain` (the store) and `verifyExport` (a file): one record at a time, in order. @module */
import { type AuditRow, GENESIS_HASH, recordHash } from './audit-hash.ts';

export interface ChainFailure {
  readonly firstBadSeq: number;
  readonly reason: string;
}

/** Feeds records in seq order; stops at the first failure and names its sequence number. */
export class ChainVerifier {
  lastSeq: number;
  lastHash: string;
  records = 0;
  failure: ChainFailure | undefined;

  /** Starts after record `afterSeq` whose hash is `afterHash` (0 and the genesis hash for a whole chain). */
  constructor(afterSeq = 0, afterHash = GENESIS_HASH) {
    this.lastSeq = afterSeq;
    this.lastHash = afterHash;
  }

  /** Returns false (and sets `failure`) at the first bad record. */
  push(row: AuditRow): boolean {
    const seq = Number(row.seq);
    const expected = this.lastSeq + 1;
    if (seq !== expected) {
      return this.#fail(
        expected,
        seq > expected
          ? `record ${expected} is missing: the next record is ${seq} (deleted or renumbered)`
          : `record ${seq} appears after record ${this.lastSeq} (inserted or reordered)`,
      );
    }
    if (row.prev_hash !== this.lastHash) {
      return this.#fail(
        seq,
        `record ${seq} does not link to record ${seq - 1} (inserted, reordered or edited)`,
      );
    }
    const hash = recordHash(this.lastHash, row);
    if (hash !== row.hash) {
      return this.#fail(seq, `record ${seq} does not match its hash (edited)`);
    }
    this.lastSeq = seq;
    this.lastHash = hash;
    this.records += 1;
    return true;
  }

  #fail(firstBadSeq: number, reason: string): false {
    this.failure = { firstBadSeq, reason };
    return false;
  }
}
