/** Shared fixtures for the audit tests: events, and the hand edits an attacker with database access could make. */
import { sql } from 'kysely';
import type { AuditEvent } from '../../src/audit/audit-types.ts';
import type { Db } from '../../src/store/create-db.ts';

export function triggerEvent(i: number): AuditEvent {
  return {
    action: 'trigger',
    actor: {
      kind: 'user',
      id: 'ana@example.com',
      subject: 'sub-ana',
      issuer: 'https://idp.example.com',
      displayName: 'Ana',
      groups: ['data-eng', 'oncall'],
      tokenId: `jti-${i}`,
      client: 'airclutch-cli',
    },
    resource: { env: 'prod', dagId: 'nightly_revenue', dagVersion: 'v1', runId: `run-${i}` },
    source: 'cli',
    requestId: `req-${i}`,
    paramsHash: `ph-${i}`,
    decision: { effect: 'allow', policies: ['policy0'], reasons: [] },
    outcome: 'started',
    details: { note: `record ${i}`, nested: { b: 2, a: 1 } },
  };
}

/** Drops the append-only triggers, as someone with DDL rights could. */
export async function dropAppendOnlyGuards(db: Db): Promise<void> {
  if (db.dialect === 'sqlite') {
    await sql`drop trigger audit_records_no_update`.execute(db.kysely);
    await sql`drop trigger audit_records_no_delete`.execute(db.kysely);
  } else {
    await sql`drop trigger audit_records_append_only on audit_records`.execute(db.kysely);
  }
}
