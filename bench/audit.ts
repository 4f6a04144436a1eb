/** Audit trail throughput on a durable SQLite store (WAL, fsync per commit) in a temp folder. @module */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { queryAudit } from '../src/audit/query-audit.ts';
import { SqlAuditLog } from '../src/audit/sql-audit-log.ts';
import { verifyChain } from '../src/audit/verify-chain.ts';
import { createDb, type Db } from '../src/store/create-db.ts';
import { migrateToLatest } from '../src/store/migrate.ts';
import { triggerEvent } from '../test/audit/audit-fixtures.ts';
import { growWal } from './grow-wal.ts';
import { runIfMain } from './main.ts';
import { median, round } from './stats.ts';

async function perSecond(n: number, fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return n / ((performance.now() - t) / 1000);
}

async function withStore<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'airclutch-bench-audit-'));
  const db = createDb({ url: join(dir, 'bench.db') });
  try {
    await migrateToLatest(db);
    await growWal(db);
    return await fn(db);
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `audit_append_per_s`: single-record appends from 64 concurrent callers, coalesced by the
 * group-commit queue (each commit fsynced). Also reports one record per transaction and batches of
 * 100, and `audit_verify_per_s` over a 100,000-record chain. Medians of 3 runs. Then
 * `audit_query_recent_ms`: the first page of a `since` window holding the last 100 of 300,000
 * records (median of 20).
 */
export async function benchAudit(): Promise<{
  audit_append_per_s: number;
  audit_verify_per_s: number;
  audit_append_single_tx_per_s: number;
  audit_append_batch100_per_s: number;
  audit_query_recent_ms: number;
}> {
  return withStore(async (db) => {
    const audit = new SqlAuditLog(db);
    const grouped: number[] = [];
    const single: number[] = [];
    const batched: number[] = [];
    const verify: number[] = [];
    for (let run = 0; run < 3; run++) {
      grouped.push(
        await perSecond(10_000, () =>
          Promise.all(
            Array.from({ length: 64 }, async (_, lane) => {
              for (let i = lane; i < 10_000; i += 64) await audit.append([triggerEvent(i)]);
            }),
          ),
        ),
      );
      single.push(
        await perSecond(300, async () => {
          for (let i = 0; i < 300; i++) await audit.append([triggerEvent(i)]);
        }),
      );
      batched.push(
        await perSecond(10_000, async () => {
          for (let b = 0; b < 100; b++)
            await audit.append(Array.from({ length: 100 }, (_, i) => triggerEvent(b * 100 + i)));
        }),
      );
    }
    await audit.append(Array.from({ length: 100_000 - 60_900 }, (_, i) => triggerEvent(i)));
    for (let run = 0; run < 3; run++) {
      let records = 0;
      const rate = await perSecond(1, async () => {
        const r = await verifyChain(db);
        if (!r.ok) throw new Error(`bench chain failed verification at ${r.firstBadSeq}`);
        records = r.records;
      });
      verify.push(rate * records);
    }
    // The first page of the last minutes of a 300,000-record trail, as `audit query --since` reads it.
    for (let b = 0; b < 20; b++)
      await audit.append(Array.from({ length: 10_000 }, (_, i) => triggerEvent(b * 10_000 + i)));
    await new Promise((resolve) => setTimeout(resolve, 5));
    const since = Date.now();
    await audit.append(Array.from({ length: 100 }, (_, i) => triggerEvent(i)));
    const recent: number[] = [];
    for (let run = 0; run < 20; run++) {
      const t = performance.now();
      const page = await queryAudit(db, { since });
      recent.push(performance.now() - t);
      if (page.records.length !== 100)
        throw new Error(`the recent window held ${page.records.length} records`);
    }
    await audit.close();
    return {
      audit_append_per_s: Math.round(median(grouped)),
      audit_verify_per_s: Math.round(median(verify)),
      audit_append_single_tx_per_s: Math.round(median(single)),
      audit_append_batch100_per_s: Math.round(median(batched)),
      audit_query_recent_ms: round(median(recent), 2),
    };
  });
}

await runIfMain(import.meta, () => benchAudit());
