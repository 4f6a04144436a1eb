import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { actorOf } from '../../src/audit/actor-of.ts';
import { GENESIS_HASH } from '../../src/audit/audit-hash.ts';
import { queryAudit } from '../../src/audit/query-audit.ts';
import { SqlAuditLog } from '../../src/audit/sql-audit-log.ts';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { AirclutchError } from '../../src/lib/errors.ts';
import { createTestDb, DIALECTS, type TestDb } from '../helpers/test-db.ts';
import { dropAppendOnlyGuards, triggerEvent } from './audit-fixtures.ts';

const run = (id: string) => ({
  id,
  env: 'prod',
  dag_id: 'nightly_revenue',
  dag_version: 'v1',
  state: 'queued' as const,
  params: '{}',
  params_hash: 'x',
  logical_date: null,
  schedule_key: null,
  source: 'cli',
  requested_by_kind: 'user',
  requested_by: 'ana@example.com',
  note: null,
  break_glass: 0,
  created_at: 1,
  started_at: null,
  ended_at: null,
  error: null,
});

/** Verifies through every path the dialect has (on SQLite: in process, and in 3 worker ranges) and checks they agree. */
async function verifyAll(db: TestDb) {
  const inProcess = await verifyChain(db, { parallel: false, pageSize: 4 });
  if (db.dialect === 'sqlite') expect(await verifyChain(db, { parallel: 3 })).toEqual(inProcess);
  return inProcess;
}

describe.each(DIALECTS)('the audit chain on %s', (dialect) => {
  let db: TestDb | undefined;
  let audit: SqlAuditLog | undefined;
  afterEach(async () => {
    await audit?.close();
    await db?.close();
    db = undefined;
    audit = undefined;
  });

  async function seeded(n: number): Promise<{ db: TestDb; audit: SqlAuditLog }> {
    db = await createTestDb(dialect);
    audit = new SqlAuditLog(db, { clock: () => 1_700_000_000_000 });
    await audit.append(Array.from({ length: n }, (_, i) => triggerEvent(i + 1)));
    return { db, audit };
  }

  it('links each record to the previous one and verifies from the genesis hash', async () => {
    const { db } = await seeded(25);
    const rows = await db.kysely.selectFrom('audit_records').selectAll().orderBy('seq').execute();
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(rows[0]!.prev_hash).toBe(GENESIS_HASH);
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.prev_hash).toBe(rows[i - 1]!.hash);
    const r = await verifyChain(db, { pageSize: 7 });
    expect(r).toMatchObject({ ok: true, records: 25, lastSeq: 25, lastHash: rows[24]!.hash });
  });

  it('links the records of a batch split over several inserts (700: 256+256+128+32+16+8+4 on SQLite, 400+300 on PostgreSQL)', async () => {
    const { db } = await seeded(700);
    const rows = await db.kysely
      .selectFrom('audit_records')
      .select(['seq', 'prev_hash', 'hash'])
      .orderBy('seq')
      .execute();
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 700 }, (_, i) => i + 1));
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.prev_hash).toBe(rows[i - 1]!.hash);
    expect(await verifyAll(db)).toMatchObject({ ok: true, records: 700, lastSeq: 700 });
  });

  it('writes the record in the caller transaction, so a rollback leaves neither the run nor its record', async () => {
    const { db, audit } = await seeded(3);
    await expect(
      db.kysely.transaction().execute(async (trx) => {
        await trx.insertInto('runs').values(run('r-rolled-back')).execute();
        await audit.append([triggerEvent(99)], { trx });
        throw new Error('the engine changed its mind');
      }),
    ).rejects.toThrow('the engine changed its mind');
    expect(await db.kysely.selectFrom('runs').selectAll().execute()).toEqual([]);
    const acks = await db.kysely.transaction().execute(async (trx) => {
      await trx.insertInto('runs').values(run('r-kept')).execute();
      return audit.append([triggerEvent(100)], { trx });
    });
    expect(acks.map((a) => a.seq)).toEqual([4]);
    expect((await verifyChain(db)).ok).toBe(true);
  });

  it('fails closed: when the record cannot be written the append throws AUDIT_UNAVAILABLE and the run is not created', async () => {
    const { db, audit } = await seeded(2);
    await sql`alter table audit_records rename to audit_records_moved`.execute(db.kysely);
    const attempt = db.kysely.transaction().execute(async (trx) => {
      await trx.insertInto('runs').values(run('r-unrecorded')).execute();
      await audit.append([triggerEvent(3)], { trx });
    });
    await expect(attempt).rejects.toBeInstanceOf(AirclutchError);
    await expect(attempt).rejects.toMatchObject({
      code: 'AUDIT_UNAVAILABLE',
      message: expect.stringMatching(/could not append 1 audit record\(s\) to .*The action was refused/s),
    });
    expect(await db.kysely.selectFrom('runs').selectAll().execute()).toEqual([]);
    const standalone = audit.append([triggerEvent(4)]);
    await expect(standalone).rejects.toMatchObject({ code: 'AUDIT_UNAVAILABLE' });
    await sql`alter table audit_records_moved rename to audit_records`.execute(db.kysely);
    expect(await verifyAll(db)).toMatchObject({ ok: true, lastSeq: 2 });
  });

  it('hashes awkward text the same way on every verification path', async () => {
    const { db, audit } = await seeded(1);
    const awkward =
      'quote " backslash \\ tab \t nl \n nul \u0000 bell \u0007 del \u007f é 中 😀 \u2028 lone \ud800 end';
    await audit.append([
      {
        action: awkward,
        actor: { kind: 'user', id: awkward, displayName: awkward },
        details: { [awkward]: awkward },
      },
    ]);
    expect(await verifyAll(db)).toMatchObject({ ok: true, lastSeq: 2 });
  });

  it('records the actor of a principal as its token described it', async () => {
    const { db, audit } = await seeded(0);
    await audit.append([
      {
        action: 'signin',
        actor: actorOf({
          kind: 'user',
          id: 'ana@example.com',
          displayName: 'Ana',
          groups: ['ops'],
          issuer: 'https://idp.example.com',
          subject: 'sub-1',
          token: { jti: 'jti-1', clientId: 'web', scopes: [], amr: ['pwd'] },
        }),
      },
    ]);
    const { records } = await queryAudit(db, { actor: 'sub-1' });
    expect(records[0]!.actor).toEqual({
      kind: 'user',
      id: 'ana@example.com',
      subject: 'sub-1',
      issuer: 'https://idp.example.com',
      displayName: 'Ana',
      groups: ['ops'],
      tokenId: 'jti-1',
      client: 'web',
    });
  });

  it('refuses updates and deletes of records at the database level', async () => {
    const { db } = await seeded(2);
    await expect(
      db.kysely.updateTable('audit_records').set({ outcome: 'x' }).where('seq', '=', 1).execute(),
    ).rejects.toThrow(/append-only/);
    await expect(db.kysely.deleteFrom('audit_records').where('seq', '=', 1).execute()).rejects.toThrow(
      /append-only/,
    );
  });

  it('names the first bad seq of a record edited by hand', async () => {
    const { db } = await seeded(10);
    await dropAppendOnlyGuards(db);
    await db.kysely
      .updateTable('audit_records')
      .set({ actor_id: 'mallory@example.com' })
      .where('seq', '=', 6)
      .execute();
    expect(await verifyAll(db)).toMatchObject({
      ok: false,
      firstBadSeq: 6,
      reason: 'record 6 does not match its hash (edited)',
    });
  });

  it('names the first bad seq of a deleted record, and of a deleted tail', async () => {
    const { db } = await seeded(10);
    await dropAppendOnlyGuards(db);
    await db.kysely.deleteFrom('audit_records').where('seq', '=', 4).execute();
    expect(await verifyAll(db)).toMatchObject({
      ok: false,
      firstBadSeq: 4,
      reason: 'record 4 is missing: the next record is 5 (deleted or renumbered)',
    });
    await db.kysely.deleteFrom('audit_records').where('seq', '>=', 3).execute();
    expect(await verifyAll(db)).toMatchObject({
      ok: false,
      firstBadSeq: 3,
      reason: 'records 3…10 are missing: the head is at 10',
    });
  });

  it('names the first bad seq of an inserted record', async () => {
    const { db } = await seeded(6);
    await dropAppendOnlyGuards(db);
    // Make room at 4 by renumbering the tail, then slip a forged record in with a plausible link.
    for (const seq of [6, 5, 4]) {
      await db.kysely
        .updateTable('audit_records')
        .set({ seq: seq + 1 })
        .where('seq', '=', seq)
        .execute();
    }
    const r3 = await db.kysely
      .selectFrom('audit_records')
      .selectAll()
      .where('seq', '=', 3)
      .executeTakeFirstOrThrow();
    await db.kysely
      .insertInto('audit_records')
      .values({ ...r3, seq: 4, action: 'approve', prev_hash: r3.hash })
      .execute();
    expect(await verifyAll(db)).toMatchObject({
      ok: false,
      firstBadSeq: 4,
      reason: 'record 4 does not match its hash (edited)',
    });
  });

  it('names the first bad seq of two records swapped', async () => {
    const { db } = await seeded(8);
    await dropAppendOnlyGuards(db);
    await db.kysely.updateTable('audit_records').set({ seq: 1000 }).where('seq', '=', 5).execute();
    await db.kysely.updateTable('audit_records').set({ seq: 5 }).where('seq', '=', 6).execute();
    await db.kysely.updateTable('audit_records').set({ seq: 6 }).where('seq', '=', 1000).execute();
    expect(await verifyAll(db)).toMatchObject({ ok: false, firstBadSeq: 5 });
  });
});
