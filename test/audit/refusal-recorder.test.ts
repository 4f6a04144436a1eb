import { afterEach, describe, expect, it } from 'vitest';
import { RefusalRecorder } from '../../src/audit/refusal-recorder.ts';
import { SqlAuditLog } from '../../src/audit/sql-audit-log.ts';
import { createTestDb, type TestDb } from '../helpers/test-db.ts';

describe('refusal recorder', () => {
  let db: TestDb | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
  });

  it('aggregates refusals into one record per code, subject and address, with an overflow bucket, then starts a new window', async () => {
    db = await createTestDb('sqlite');
    const audit = new SqlAuditLog(db, { hmacKey: Buffer.from('k'.repeat(32)) });
    let now = 1_000;
    const recorder = new RefusalRecorder(audit, {
      action: 'chat.rejected',
      source: 'chat',
      maxKeys: 2,
      clock: () => now,
    });
    for (let i = 0; i < 300; i++) {
      recorder.record({ code: 'WEBHOOK_SIGNATURE_INVALID', ip: '10.0.0.1' });
      now++;
    }
    recorder.record({ code: 'PRINCIPAL_UNMAPPED', subject: 'U0STRANGER', ip: '10.0.0.2' });
    recorder.record({ code: 'MEDIA_TYPE_UNSUPPORTED', ip: '10.0.0.3' });
    await recorder.flush();
    recorder.record({ code: 'MEDIA_TYPE_UNSUPPORTED', ip: '10.0.0.3' });
    await recorder.flush();
    await recorder.flush();
    const rows = await db.kysely
      .selectFrom('audit_records')
      .select(['action', 'source', 'outcome', 'details'])
      .orderBy('seq')
      .execute();
    expect(rows.map((r) => [r.action, r.source, r.outcome, JSON.parse(r.details!).count])).toEqual([
      ['chat.rejected', 'chat', 'WEBHOOK_SIGNATURE_INVALID', 300],
      ['chat.rejected', 'chat', 'PRINCIPAL_UNMAPPED', 1],
      ['chat.rejected', 'chat', 'overflow', 1],
      ['chat.rejected', 'chat', 'MEDIA_TYPE_UNSUPPORTED', 1],
    ]);
    expect(JSON.parse(rows[0]!.details!)).toMatchObject({ first: 1_000, last: 1_299, ip: '10.0.0.1' });
    expect(JSON.parse(rows[1]!.details!)).toMatchObject({ subject: 'U0STRANGER', ip: '10.0.0.2' });
    await audit.close();
  });
});
