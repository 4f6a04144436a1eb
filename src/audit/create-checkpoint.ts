/** Signs the chain's current head and stores the checkpoint beside the chain. @module */
import type { KeyObject } from 'node:crypto';
import { AirclutchError } from '../lib/errors.ts';
import type { Db } from '../store/create-db.ts';
import { signCheckpoint } from './audit-checkpoint.ts';
import type { AuditCheckpoint } from './audit-types.ts';
import { verifyChain } from './verify-chain.ts';

/**
 * Verifies the chain (signing a tampered chain would bless it), then signs and stores its head.
 *
 * @example
 * const cp = await createCheckpoint(db, loadCheckpointPrivateKey(config)!);
 * writeFileSync('checkpoint.json', JSON.stringify(cp));
 */
export async function createCheckpoint(
  db: Db,
  privateKey: KeyObject,
  options: { clock?: () => number } = {},
): Promise<AuditCheckpoint> {
  const verified = await verifyChain(db);
  if (!verified.ok) {
    throw new AirclutchError(
      'AUDIT_CHAIN_BROKEN',
      `refusing to sign a checkpoint: the chain fails at record ${verified.firstBadSeq}: ${verified.reason}`,
      { details: { firstBadSeq: verified.firstBadSeq } },
    );
  }
  const cp = signCheckpoint(privateKey, {
    seq: verified.lastSeq,
    hash: verified.lastHash,
    ts: (options.clock ?? Date.now)(),
  });
  await db.kysely
    .insertInto('audit_checkpoints')
    .values({ seq: cp.seq, hash: cp.hash, signature: cp.signature, key_id: cp.keyId, ts: cp.ts })
    .onConflict((oc) => oc.columns(['seq', 'key_id']).doNothing())
    .execute();
  return cp;
}
