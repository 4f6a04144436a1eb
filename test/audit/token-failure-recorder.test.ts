import { afterEach, describe, expect, it } from 'vitest';
import { RefusalRecorder } from '../../src/audit/refusal-recorder.ts';
import { SqlAuditLog } from '../../src/audit/sql-audit-log.ts';
import { createTestDb, type TestDb } from '../helpers/test-db.ts';

describe('token failure recorder', () => {
  let db: TestDb | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
  });

  it('aggregates a flood of failures into one record per code, issuer and address, with an overflow bucket', async () => {
    db = await createTestDb('sqlite');
    const audit = new SqlAuditLog(db, { hmacKey: Buffer.from('k'.repeat(32)) });
    let now = 1_000;
    const recorder = new RefusalRecorder(audit, {
      action: 'token.rejected',
      source: 'api',
      subjectField: 'issuer',
      maxKeys: 2,
      clock: () => now,
    });
    for (let i = 0; i < 500; i++) {
      recorder.record({ code: 'SIGNATURE_INVALID', ip: '10.0.0.1' });
      now++;
    }
    recorder.record({ code: 'TOKEN_EXPIRED', subject: 'https://idp', ip: '10.0.0.2' });
    recorder.record({ code: 'KEY_UNKNOWN', ip: '10.0.0.3' });
    recorder.record({ code: 'KEY_UNKNOWN', ip: '10.0.0.4' });
    await recorder.flush();
    const rows = await db.kysely
      .selectFrom('audit_records')
      .select(['action', 'outcome', 'details'])
      .orderBy('seq')
      .execute();
    expect(rows.map((r) => [r.action, r.outcome, JSON.parse(r.details!).count])).toEqual([
      ['token.rejected', 'SIGNATURE_INVALID', 500],
      ['token.rejected', 'TOKEN_EXPIRED', 1],
      ['token.rejected', 'overflow', 2],
    ]);
    expect(JSON.parse(rows[0]!.details!)).toMatchObject({ first: 1_000, last: 1_499, ip: '10.0.0.1' });
    expect(JSON.parse(rows[1]!.details!)).toMatchObject({ issuer: 'https://idp', ip: '10.0.0.2' });
    await audit.close();
  });
});
