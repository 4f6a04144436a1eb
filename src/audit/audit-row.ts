/** Conversions between events, stored rows and the records readers see. @module */

import { canonicalJson } from '../lib/canonical-json.ts';
import type { AuditRow, AuditRowBody } from './audit-hash.ts';
import type { AuditActor, AuditDecision, AuditEvent, AuditRecord, AuditResource } from './audit-types.ts';
import { hmacValue, redactParams } from './sensitive-values.ts';

const json = (v: unknown): string | null => (v === null || v === undefined ? null : canonicalJson(v));
// A lone surrogate (SQLite) or a NUL (PostgreSQL) cannot be stored as given and would no longer
// match its hash; replace them with U+FFFD so the hash covers exactly what is stored, on both stores.
const UNSTORABLE = /[\0\ud800-\udfff]/;
const str = (v: string | null | undefined): string | null =>
  v === undefined || v === null
    ? null
    : !UNSTORABLE.test(v)
      ? v
      : (v as string & { toWellFormed(): string }).toWellFormed().replaceAll('\0', '\uFFFD');

/** The stored body of an event (without seq, ts and hashes), with sensitive values HMACed. */
export function eventToRowBody(
  event: AuditEvent,
  hmacKey: Buffer | undefined,
): Omit<AuditRowBody, 'seq' | 'ts'> {
  if (typeof event?.action !== 'string' || event.action.length === 0) {
    throw new TypeError('an audit event needs a non-empty string `action`');
  }
  const a = event.actor ?? null;
  const r = event.resource ?? null;
  let params: Record<string, unknown> | null = null;
  if (event.params || event.secrets) {
    const sensitive = event.paramsSchema && hasSensitive(event.paramsSchema);
    if ((sensitive || event.secrets) && !hmacKey) {
      throw new TypeError('sensitive params or secrets need an audit HMAC key (config `audit.hmacKey`)');
    }
    params = event.params
      ? { ...(hmacKey ? redactParams(event.params, event.paramsSchema, hmacKey) : event.params) }
      : {};
    for (const [k, v] of Object.entries(event.secrets ?? {})) params[k] = hmacValue(hmacKey!, v);
  }
  return {
    action: str(event.action)!,
    actor_kind: a?.kind ?? null,
    actor_id: str(a?.id),
    actor_subject: str(a?.subject),
    actor_issuer: str(a?.issuer),
    actor_display_name: str(a?.displayName),
    actor_groups: json(a?.groups),
    actor_token_id: str(a?.tokenId),
    actor_client: str(a?.client),
    env: str(r?.env),
    dag_id: str(r?.dagId),
    dag_version: str(r?.dagVersion),
    run_id: str(r?.runId),
    task_id: str(r?.taskId),
    approval_id: str(r?.approvalId),
    source: str(event.source),
    request_id: str(event.requestId),
    params_hash: str(event.paramsHash),
    params: json(params),
    decision_effect: str(event.decision?.effect),
    decision: json(event.decision),
    outcome: str(event.outcome),
    details: json(event.details),
  };
}

function hasSensitive(schema: Record<string, unknown>): boolean {
  const props = schema.properties as Record<string, { sensitive?: unknown }> | undefined;
  return !!props && Object.values(props).some((p) => p?.sensitive === true);
}

const parse = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));

/** A stored row as a reader's record. */
export function rowToRecord(row: AuditRow): AuditRecord {
  const actor: AuditActor | null =
    row.actor_kind === null
      ? null
      : {
          kind: row.actor_kind as AuditActor['kind'],
          id: row.actor_id ?? '',
          subject: row.actor_subject,
          issuer: row.actor_issuer,
          displayName: row.actor_display_name,
          groups: parse<string[]>(row.actor_groups),
          tokenId: row.actor_token_id,
          client: row.actor_client,
        };
  const hasResource =
    row.env ?? row.dag_id ?? row.dag_version ?? row.run_id ?? row.task_id ?? row.approval_id ?? null;
  const resource: AuditResource | null =
    hasResource === null
      ? null
      : {
          env: row.env,
          dagId: row.dag_id,
          dagVersion: row.dag_version,
          runId: row.run_id,
          taskId: row.task_id,
          approvalId: row.approval_id,
        };
  return {
    seq: Number(row.seq),
    ts: Number(row.ts),
    action: row.action,
    actor,
    resource,
    source: row.source,
    requestId: row.request_id,
    paramsHash: row.params_hash,
    params: parse(row.params),
    decision: parse<AuditDecision>(row.decision),
    outcome: row.outcome,
    details: parse(row.details),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/**
 * A record (for example one line of an export) back to the row it was hashed as. `actor_id` of a
 * null actor, and a null decision's effect, are null: `rowToRecord` and this are inverse.
 */
export function recordToRow(rec: AuditRecord): AuditRow {
  const a = rec.actor;
  const r = rec.resource;
  return {
    seq: rec.seq,
    ts: rec.ts,
    action: rec.action,
    actor_kind: a?.kind ?? null,
    actor_id: a ? a.id : null,
    actor_subject: a?.subject ?? null,
    actor_issuer: a?.issuer ?? null,
    actor_display_name: a?.displayName ?? null,
    actor_groups: json(a?.groups),
    actor_token_id: a?.tokenId ?? null,
    actor_client: a?.client ?? null,
    env: r?.env ?? null,
    dag_id: r?.dagId ?? null,
    dag_version: r?.dagVersion ?? null,
    run_id: r?.runId ?? null,
    task_id: r?.taskId ?? null,
    approval_id: r?.approvalId ?? null,
    source: rec.source,
    request_id: rec.requestId,
    params_hash: rec.paramsHash,
    params: json(rec.params),
    decision_effect: rec.decision?.effect ?? null,
    decision: json(rec.decision),
    outcome: rec.outcome,
    details: json(rec.details),
    prev_hash: rec.prevHash,
    hash: rec.hash,
  };
}
