/**
 * The audit trail's types, shared by the gate, the engine and the readers.
 *
 * Words:
 * - **audit event**: what a caller hands to `AuditLog.append`: an action, who did it, to what, and what the gate decided.
 * - **audit record**: one link of the hash chain, as stored: the event plus its `seq`, `ts`, `prevHash` and `hash`.
 * - **chain head**: the last record's seq and hash, kept in one row (`audit_head`) and moved under a lock.
 * - **checkpoint**: an Ed25519 signature over (seq, hash) of the head at some moment, verifiable with the public key alone.
 * - **sink**: a consumer (stdout, file, webhook) that follows the trail with a persisted cursor, at-least-once.
 * @module
 */
import type { Transaction } from 'kysely';
import type { Database } from '../store/database.ts';

/** Who acted, as the token said at the time. Built from a `Principal` with `actorOf()`. */
export interface AuditActor {
  readonly kind: 'user' | 'service' | 'anonymous';
  /** The Cedar entity id (email or sub for users, a name for services). */
  readonly id: string;
  readonly subject?: string | null | undefined;
  readonly issuer?: string | null | undefined;
  readonly displayName?: string | null | undefined;
  /** IdP groups at the time of the action. */
  readonly groups?: readonly string[] | null | undefined;
  readonly tokenId?: string | null | undefined;
  readonly client?: string | null | undefined;
}

/** What was acted on. Every field is optional: a sign-in has none, a task state change has most. */
export interface AuditResource {
  readonly env?: string | null | undefined;
  readonly dagId?: string | null | undefined;
  readonly dagVersion?: string | null | undefined;
  readonly runId?: string | null | undefined;
  readonly taskId?: string | null | undefined;
  readonly approvalId?: string | null | undefined;
}

/** The gate's decision, as recorded. */
export interface AuditDecision {
  /** `allow`, `needs_approval`, `deny` (or another effect the gate defines). */
  readonly effect: string;
  /** Determining policy ids. */
  readonly policies: readonly string[];
  readonly reasons: readonly string[];
}

/** One thing to record. `action` examples: `trigger`, `approve`, `run.state`, `task.state`, `policy.load`, `signin`, `token.rejected`. */
export interface AuditEvent {
  readonly action: string;
  readonly actor?: AuditActor | null | undefined;
  readonly resource?: AuditResource | null | undefined;
  /** `api`, `ui`, `cli`, `schedule`, `dag`, `chat`, `bridge`, `engine`. */
  readonly source?: string | null | undefined;
  readonly requestId?: string | null | undefined;
  readonly paramsHash?: string | null | undefined;
  /**
   * The params of a trigger. Top-level properties marked `sensitive: true` in `paramsSchema` are
   * stored as `hmac:<hex>`, never in plaintext.
   */
  readonly params?: Record<string, unknown> | null | undefined;
  /** The DAG's `paramsJsonSchema`; read only to find sensitive params, never stored. */
  readonly paramsSchema?: Record<string, unknown> | undefined;
  /** Secret values worth recording for correlation (for example a webhook secret id): always stored as HMACs. */
  readonly secrets?: Record<string, string> | undefined;
  readonly decision?: AuditDecision | null | undefined;
  /** `started`, `awaiting_approval`, `refused`, `success`, … */
  readonly outcome?: string | null | undefined;
  readonly details?: Record<string, unknown> | null | undefined;
}

/** A stored record: a link of the chain, as readers and exports see it. */
export interface AuditRecord {
  readonly seq: number;
  /** Epoch milliseconds. */
  readonly ts: number;
  readonly action: string;
  readonly actor: AuditActor | null;
  readonly resource: AuditResource | null;
  readonly source: string | null;
  readonly requestId: string | null;
  readonly paramsHash: string | null;
  /** Params with sensitive values replaced by `hmac:<hex>`. */
  readonly params: Record<string, unknown> | null;
  readonly decision: AuditDecision | null;
  readonly outcome: string | null;
  readonly details: Record<string, unknown> | null;
  readonly prevHash: string;
  readonly hash: string;
}

/** What an append acknowledges for each event, in order. */
export interface AppendedRecord {
  readonly seq: number;
  readonly ts: number;
  readonly hash: string;
}

export interface AppendOptions {
  /**
   * The caller's transaction. The record is then written in it, so the state change and its record
   * commit or roll back together ("no record, no action").
   */
  readonly trx?: Transaction<Database> | undefined;
  /**
   * With `trx`: the append is the transaction's last statement, and the caller runs nothing in `trx`
   * after it. On PostgreSQL the commit then goes out right behind it, one round trip sooner.
   */
  readonly last?: boolean | undefined;
}

/** The audit trail's write side. Default implementation: `SqlAuditLog`. */
export interface AuditLog {
  /**
   * Appends events to the chain, in order. Throws `AirclutchError('AUDIT_UNAVAILABLE')` when they
   * cannot be written; inside a caller's transaction that error must propagate so the transaction rolls back.
   */
  append(events: readonly AuditEvent[], options?: AppendOptions): Promise<AppendedRecord[]>;
  /** Waits for queued appends, then stops accepting new ones. */
  close(): Promise<void>;
}

/** A signed statement that the chain's record `seq` had hash `hash`. */
export interface AuditCheckpoint {
  readonly seq: number;
  readonly hash: string;
  readonly ts: number;
  /** First 16 hex digits of SHA-256 over the public key's SPKI DER. */
  readonly keyId: string;
  /** Base64 Ed25519 signature over the checkpoint's canonical statement. */
  readonly signature: string;
}

/** The result of verifying a chain or an export. */
export interface VerifyResult {
  readonly ok: boolean;
  /** Records checked. */
  readonly records: number;
  readonly lastSeq: number;
  readonly lastHash: string;
  /** The first sequence number that fails, when `ok` is false. */
  readonly firstBadSeq?: number | undefined;
  readonly reason?: string | undefined;
  /** Checkpoints whose signature and hash matched. */
  readonly checkpointsVerified: number;
}

/** A consumer that follows the trail. Delivery is at-least-once: `deliver` may see a record twice. */
export interface AuditSink {
  /** Stable name: the key of its persisted cursor. */
  readonly name: string;
  deliver(records: readonly AuditRecord[]): Promise<void>;
  close?(): Promise<void>;
}
