import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  canonicalBody,
  canonicalBodyAroundSeq,
  canonicalBodyAroundSeqAndTry,
  type UnplacedBody,
} from '../../src/audit/audit-hash.ts';
import { SqlAuditLog } from '../../src/audit/sql-audit-log.ts';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { canonicalJson } from '../../src/lib/canonical-json.ts';
import { createTestDb, type TestDb } from '../helpers/test-db.ts';

// Text the audit row keeps as given (it replaces NUL and lone surrogates, which `note` below may hold).
const text = fc.string({ unit: 'grapheme', maxLength: 40 });

describe('canonicalBodyAroundSeq', () => {
  it('splits the canonical body around its seq, so before + seq + after is the body', () => {
    fc.assert(
      fc.property(text, fc.option(text), fc.nat({ max: Number.MAX_SAFE_INTEGER }), (action, detail, seq) => {
        const body = { action, details: detail, env: 'prod' } as unknown as UnplacedBody;
        const [before, after] = canonicalBodyAroundSeq(body, 1_700_000_000_000);
        expect(before + String(seq) + after).toBe(canonicalBody(body, seq, 1_700_000_000_000));
      }),
      { numRuns: 300 },
    );
  });
});

describe('canonicalBodyAroundSeqAndTry', () => {
  it('splits the canonical body around its try number and its seq, so head + try + tail + seq + after is the body with that try', () => {
    fc.assert(
      fc.property(
        text,
        text,
        fc.option(text),
        fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 1, max: 1_000_000 }),
        (taskId, from, error, seq, tryNumber) => {
          const details = (n: number) => canonicalJson({ from, ...(error ? { error } : {}), try: n });
          const body = { action: 'task.state', task_id: taskId, env: 'prod', details: details(1) };
          const [head, tail, after] = canonicalBodyAroundSeqAndTry(body as unknown as UnplacedBody, 1_700);
          const decided = { ...body, details: details(tryNumber) } as unknown as UnplacedBody;
          expect(head + String(tryNumber) + tail + String(seq) + after).toBe(
            canonicalBody(decided, seq, 1_700),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses a body whose details do not end with the try number', () => {
    const body = { action: 'task.state', details: '{"from":"queued"}' } as unknown as UnplacedBody;
    expect(() => canonicalBodyAroundSeqAndTry(body, 1)).toThrow(/needs details ending in "try":<n>}/);
  });
});

describe('appending on PostgreSQL, where the database places and hashes each record', () => {
  let db: TestDb;
  let audit: SqlAuditLog;
  beforeAll(async () => {
    db = await createTestDb('postgres');
    audit = new SqlAuditLog(db);
  });
  afterAll(async () => {
    await audit.close();
    await db.close();
  });

  it('stores and hashes any text exactly as the offline verifier recomputes it, and acknowledges each record with its seq and hash', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            action: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
            id: text,
            note: fc.string({ unit: 'binary', maxLength: 40 }),
            key: text,
          }),
          { minLength: 1, maxLength: 5 },
        ),
        async (events) => {
          const acks = await audit.append(
            events.map((e) => ({
              action: e.action,
              actor: { kind: 'user' as const, id: e.id, displayName: e.note },
              details: { [e.key]: e.note, n: 1.5 },
            })),
          );
          const stored = await db.kysely
            .selectFrom('audit_records')
            .select(['seq', 'hash', 'action', 'actor_id'])
            .where('seq', '>=', acks[0]!.seq)
            .orderBy('seq')
            .execute();
          expect(stored.map((r) => ({ seq: Number(r.seq), hash: r.hash }))).toEqual(
            acks.map((a) => ({ seq: a.seq, hash: a.hash })),
          );
          expect(stored.map((r) => [r.action, r.actor_id])).toEqual(events.map((e) => [e.action, e.id]));
        },
      ),
      { numRuns: 60 },
    );
    expect(await verifyChain(db, { parallel: false })).toMatchObject({ ok: true });
  });

  it('continues one chain across calls when one append carries more records than a call takes', async () => {
    const before = await verifyChain(db, { parallel: false });
    const acks = await audit.append(Array.from({ length: 4_500 }, (_, i) => ({ action: `bulk ${i}` })));
    expect(acks.map((a) => a.seq)).toEqual(Array.from({ length: 4_500 }, (_, i) => before.lastSeq + i + 1));
    expect(await verifyChain(db, { parallel: false })).toMatchObject({
      ok: true,
      lastSeq: before.lastSeq + 4_500,
    });
  });
});
