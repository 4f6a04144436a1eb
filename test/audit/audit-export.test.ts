import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import canonicalizeModule from 'canonicalize';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signCheckpoint } from '../../src/audit/audit-checkpoint.ts';
import { BODY_KEYS, canonicalBody } from '../../src/audit/audit-hash.ts';
import { createCheckpoint } from '../../src/audit/create-checkpoint.ts';
import { exportAudit } from '../../src/audit/export-audit.ts';
import { queryAudit, windowStart } from '../../src/audit/query-audit.ts';
import { hmacValue } from '../../src/audit/sensitive-values.ts';
import { SqlAuditLog } from '../../src/audit/sql-audit-log.ts';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { verifyExport } from '../../src/audit/verify-export.ts';
import { createTestDb, DIALECTS, type TestDb } from '../helpers/test-db.ts';
import { dropAppendOnlyGuards, triggerEvent } from './audit-fixtures.ts';

const { privateKey } = generateKeyPairSync('ed25519');
const publicKey = createPublicKey(privateKey);
const hmacKey = Buffer.from('a-test-hmac-key-of-enough-length');
const paramsSchema = {
  type: 'object',
  properties: {
    date: { type: 'string' },
    apiToken: { type: 'string', sensitive: true },
    rows: { type: 'number', sensitive: true },
  },
};

async function exportText(db: TestDb, options: Parameters<typeof exportAudit>[2]): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await exportAudit(db, out, options);
  out.end();
  return Buffer.concat(chunks).toString('utf8');
}

/** Every body column but the three the property draws itself; their order does not matter to the oracle. */
// The package itself: canonicalJson has a fast path of its own, so it is no reference.
const canonicalize = ((canonicalizeModule as { default?: unknown }).default ?? canonicalizeModule) as (
  v: unknown,
) => string;

const COLUMNS = BODY_KEYS.filter((k) => k !== 'seq' && k !== 'ts' && k !== 'action');

describe('the canonical encoding', () => {
  it('is exactly RFC 8785 (the canonicalize package) for any row', () => {
    const text = fc.option(fc.string({ unit: 'binary' }), { nil: null });
    fc.assert(
      fc.property(
        fc.nat(),
        fc.nat(),
        fc.string({ unit: 'binary' }),
        fc.array(text, { minLength: COLUMNS.length, maxLength: COLUMNS.length }),
        (seq, ts, action, cols) => {
          const row = {
            seq,
            ts,
            action,
            ...Object.fromEntries(COLUMNS.map((k, i) => [k, cols[i]])),
          } as never;
          expect(canonicalBody(row)).toBe(canonicalize(row));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe.each(DIALECTS)('reading and exporting the trail on %s', (dialect) => {
  let db: TestDb;
  let audit: SqlAuditLog;
  let dir: string;
  let now = 1_700_000_000_000;
  beforeEach(async () => {
    db = await createTestDb(dialect);
    audit = new SqlAuditLog(db, { hmacKey, clock: () => now });
    dir = mkdtempSync(join(tmpdir(), 'airclutch-audit-'));
    for (let i = 1; i <= 30; i++) {
      now = 1_700_000_000_000 + i * 1000;
      await audit.append([
        {
          ...triggerEvent(i),
          actor: { kind: 'user', id: i % 3 === 0 ? 'bob@example.com' : 'ana@example.com' },
          decision: { effect: i % 5 === 0 ? 'deny' : 'allow', policies: ['p'], reasons: [] },
          params: { date: '2026-11-28', apiToken: `secret-${i}`, rows: i },
          paramsSchema,
        },
      ]);
    }
  });
  afterEach(async () => {
    await audit.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores sensitive params as keyed HMACs and finds a known value through its HMAC', async () => {
    const raw = await db.kysely
      .selectFrom('audit_records')
      .select('params')
      .where('seq', '=', 7)
      .executeTakeFirstOrThrow();
    expect(raw.params).not.toContain('secret-7');
    expect(JSON.parse(raw.params!)).toEqual({
      date: '2026-11-28',
      apiToken: hmacValue(hmacKey, 'secret-7'),
      rows: hmacValue(hmacKey, 7),
    });
    const found = await queryAudit(db, { param: { name: 'apiToken', value: 'secret-7' }, hmacKey });
    expect(found.records.map((r) => r.seq)).toEqual([7]);
    const byNumber = await queryAudit(db, { param: { name: 'rows', value: '12' }, hmacKey });
    expect(byNumber.records.map((r) => r.seq)).toEqual([12]);
    const plain = await queryAudit(db, { param: { name: 'date', value: '2026-11-28' }, limit: 5 });
    expect(plain.records).toHaveLength(5);
  });

  it('refuses an event with sensitive params when no HMAC key is configured', async () => {
    const keyless = new SqlAuditLog(db);
    await expect(
      keyless.append([{ action: 'trigger', params: { apiToken: 'x' }, paramsSchema }]),
    ).rejects.toThrow(
      new TypeError('sensitive params or secrets need an audit HMAC key (config `audit.hmacKey`)'),
    );
  });

  it('filters by actor, decision, action, time range and pages by seq', async () => {
    const bob = await queryAudit(db, { actor: 'bob@example.com' });
    expect(bob.records.map((r) => r.seq)).toEqual([3, 6, 9, 12, 15, 18, 21, 24, 27, 30]);
    // The form listings print (`airclutch audit query`'s ACTOR column) finds the same records.
    expect(await queryAudit(db, { actor: 'user:bob@example.com' })).toEqual(bob);
    expect((await queryAudit(db, { actor: 'service:bob@example.com' })).records).toEqual([]);
    const denied = await queryAudit(db, { effect: 'deny', dagId: 'nightly_revenue', action: 'trigger' });
    expect(denied.records.map((r) => r.seq)).toEqual([5, 10, 15, 20, 25, 30]);
    const window = await queryAudit(db, { since: 1_700_000_010_000, until: 1_700_000_013_000 });
    expect(window.records.map((r) => r.seq)).toEqual([10, 11, 12]);
    const p1 = await queryAudit(db, { limit: 20 });
    expect(p1.nextAfterSeq).toBe(20);
    const p2 = await queryAudit(db, { limit: 20, afterSeq: p1.nextAfterSeq });
    expect(p2.records.map((r) => r.seq)).toEqual([21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
    expect(p2.nextAfterSeq).toBeUndefined();
    const guarded = await queryAudit(
      db,
      { limit: 30 },
      { canRead: (r) => r.actor?.id === 'bob@example.com' },
    );
    expect(guarded.records).toHaveLength(10);
    expect(await queryAudit(db, { runId: 'run-4' })).toMatchObject({
      records: [{ seq: 4, resource: { runId: 'run-4' } }],
    });
  });

  it('finds every record of a time window, and only those, when the clock stepped back and however many the window holds', async () => {
    // After record 30 (ts …030_000) the clock steps back and forth: 31 and 33 are older than 30.
    for (const at of [1_700_000_005_500, 1_700_000_040_000, 1_700_000_002_500]) {
      now = at;
      await audit.append([triggerEvent(0)]);
    }
    now = 1_700_000_050_000;
    await audit.append(Array.from({ length: 1_200 }, (_, i) => triggerEvent(i)));
    const all = (await queryAudit(db, { limit: 10_000 })).records;
    const windows: Array<[number, number | undefined]> = [
      [1_700_000_005_000, 1_700_000_007_000],
      [1_700_000_002_000, 1_700_000_003_000],
      [1_700_000_002_000, undefined],
      [1_700_000_031_000, undefined],
      [1_700_000_045_000, 1_700_000_049_000],
      [1_700_000_050_000, undefined],
      [1_800_000_000_000, undefined],
    ];
    for (const [since, until] of windows) {
      const expected = all
        .filter((r) => r.ts >= since && (until === undefined || r.ts < until))
        .map((r) => r.seq);
      const paged: number[] = [];
      let afterSeq: number | undefined;
      do {
        const page = await queryAudit(db, { since, until, afterSeq, limit: 500 });
        paged.push(...page.records.map((r) => r.seq));
        afterSeq = page.nextAfterSeq;
      } while (afterSeq !== undefined);
      expect(paged, `since ${since}, until ${until}`).toEqual(expected);
      const exported = (await exportText(db, { format: 'jsonl', since, until, pageSize: 700 }))
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { seq: number }).seq);
      expect(exported, `export since ${since}, until ${until}`).toEqual(expected);
    }
    // Where a first page starts: just before the window's lowest seq, even when its times are out
    // of order; after the last record for an empty window; from the start when it holds more than
    // the look counts.
    expect(await windowStart(db, { since: 1_700_000_002_000, until: 1_700_000_003_000 })).toBe(1);
    expect(await windowStart(db, { since: 1_700_000_045_000, until: 1_700_000_049_000 })).toBe(1_233);
    expect(await windowStart(db, { since: 1_700_000_050_000 }, 1_000)).toBeUndefined();
    expect(await windowStart(db, { since: 1_700_000_050_000 }, 1_200)).toBe(33);
    expect(await windowStart(db, { since: 1_700_000_050_000, afterSeq: 40 })).toBe(40);
  });

  it('exports a window as JSON Lines that verifies offline with only the public key', async () => {
    const text = await exportText(db, {
      format: 'jsonl',
      since: 1_700_000_005_000,
      until: 1_700_000_021_000,
      checkpoint: (at) => signCheckpoint(privateKey, { ...at, ts: now }),
    });
    const file = join(dir, 'window.jsonl');
    writeFileSync(file, text);
    const lines = text.trim().split('\n');
    expect(lines).toHaveLength(17);
    expect(await verifyExport(file, publicKey)).toMatchObject({
      ok: true,
      records: 16,
      lastSeq: 20,
      checkpointsVerified: 1,
    });

    const edited = lines.map((l) =>
      l.includes('"seq":8,') ? l.replace('ana@example.com', 'eve@example.com') : l,
    );
    writeFileSync(file, `${edited.join('\n')}\n`);
    expect(await verifyExport(file, publicKey)).toMatchObject({
      ok: false,
      firstBadSeq: 8,
      reason: 'record 8 does not match its hash (edited)',
    });

    writeFileSync(file, `${lines.filter((l) => !l.includes('"seq":12,')).join('\n')}\n`);
    expect(await verifyExport(file, publicKey)).toMatchObject({ ok: false, firstBadSeq: 12 });

    const swapped = [...lines];
    [swapped[3], swapped[4]] = [swapped[4]!, swapped[3]!];
    writeFileSync(file, `${swapped.join('\n')}\n`);
    expect(await verifyExport(file, publicKey)).toMatchObject({ ok: false, firstBadSeq: 8 });

    const other = createPublicKey(generateKeyPairSync('ed25519').privateKey);
    writeFileSync(file, text);
    expect(await verifyExport(file, other)).toMatchObject({ ok: false, firstBadSeq: 20 });

    writeFileSync(file, `${lines.slice(0, -1).join('\n')}\n`);
    expect(await verifyExport(file, publicKey)).toMatchObject({
      ok: false,
      reason: 'records after the start are not covered by a signed checkpoint; export with a checkpoint key',
    });
  });

  it('exports CSV with a header and neutralised spreadsheet formulas', async () => {
    now += 1000;
    await audit.append([
      { action: 'signin', actor: { kind: 'user', id: '=cmd|calc', displayName: 'A, "B"' } },
    ]);
    const csv = await exportText(db, { format: 'csv', since: now });
    const [header, row] = csv.trim().split('\n');
    expect(header!.split(',').slice(0, 6)).toEqual(['seq', 'ts', 'time', 'action', 'actor_kind', 'actor_id']);
    expect(row).toContain(`31,${now},${new Date(now).toISOString()},signin,user,'=cmd|calc,"A, ""B"""`);
  });

  it('signs checkpoints that verifyChain checks, and catches a chain rewritten under a checkpoint', async () => {
    const cp = await createCheckpoint(db, privateKey, { clock: () => now });
    expect(cp).toMatchObject({ seq: 30 });
    expect(await verifyChain(db, { publicKey })).toMatchObject({ ok: true, checkpointsVerified: 1 });
    await dropAppendOnlyGuards(db);
    // Rewrite record 30 consistently (recomputing its hash) and move the head: only the checkpoint can tell.
    const { recordHash } = await import('../../src/audit/audit-hash.ts');
    const r30 = await db.kysely
      .selectFrom('audit_records')
      .selectAll()
      .where('seq', '=', 30)
      .executeTakeFirstOrThrow();
    const forged = { ...r30, outcome: 'refused' };
    const hash = recordHash(forged.prev_hash, forged);
    await db.kysely
      .updateTable('audit_records')
      .set({ outcome: 'refused', hash })
      .where('seq', '=', 30)
      .execute();
    await db.kysely.updateTable('audit_head').set({ hash }).where('id', '=', 1).execute();
    expect(await verifyChain(db, { publicKey })).toMatchObject({ ok: false, firstBadSeq: 30 });
  });
});
