import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditSinkPump } from '../../src/audit/audit-sink-pump.ts';
import { SqlAuditLog } from '../../src/audit/sql-audit-log.ts';
import { FileSink } from '../../src/audit/stream-sink.ts';
import { WebhookSink } from '../../src/audit/webhook-sink.ts';
import { AirclutchError } from '../../src/lib/errors.ts';
import { createTestDb, DIALECTS, type TestDb } from '../helpers/test-db.ts';
import { triggerEvent } from './audit-fixtures.ts';

/** A real collector on loopback that fails the first `failures` requests. */
async function collector(failures: number) {
  const received: number[][] = [];
  let requests = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      requests += 1;
      if (requests <= failures) {
        res.writeHead(503).end();
        return;
      }
      received.push((JSON.parse(body) as { records: { seq: number }[] }).records.map((r) => r.seq));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ingest`;
  return {
    url,
    received,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe.each(DIALECTS)('audit sinks on %s', (dialect) => {
  let db: TestDb | undefined;
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await db?.close();
    db = undefined;
  });

  it('delivers to a webhook at least once, retrying with backoff, and resumes from its cursor after a restart', async () => {
    db = await createTestDb(dialect);
    const audit = new SqlAuditLog(db);
    cleanups.push(() => audit.close());
    const siem = await collector(2);
    cleanups.push(siem.close);
    await audit.append(Array.from({ length: 25 }, (_, i) => triggerEvent(i + 1)));

    const delays: number[] = [];
    const sink = () =>
      new WebhookSink('siem', {
        url: siem.url,
        maxRetries: 3,
        sleep: async (ms) => void delays.push(ms),
        retryDelayMs: 100,
      });
    const first = new AuditSinkPump(db, sink(), { batchSize: 10 });
    expect(await first.drain()).toBe(25);
    expect(delays).toEqual([100, 200]);
    expect(siem.received).toEqual([
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
      [11, 12, 13, 14, 15, 16, 17, 18, 19, 20],
      [21, 22, 23, 24, 25],
    ]);
    expect(await first.cursor()).toBe(25);
    await first.stop();

    // A new pump (a restarted process) starts after the persisted cursor.
    await audit.append([triggerEvent(26), triggerEvent(27)]);
    const second = new AuditSinkPump(db, sink(), { batchSize: 10 });
    expect(await second.drain()).toBe(2);
    expect(siem.received.at(-1)).toEqual([26, 27]);
    await second.stop();
  });

  it('keeps its cursor when the webhook stays down, so nothing is skipped', async () => {
    db = await createTestDb(dialect);
    const audit = new SqlAuditLog(db);
    cleanups.push(() => audit.close());
    const siem = await collector(1_000);
    cleanups.push(siem.close);
    await audit.append([triggerEvent(1), triggerEvent(2)]);
    const pump = new AuditSinkPump(
      db,
      new WebhookSink('siem', { url: `${siem.url}?token=s3cret`, maxRetries: 1, sleep: async () => {} }),
    );
    const err = await pump.drain().catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'AUDIT_UNAVAILABLE',
      message: `audit sink siem could not deliver 2 record(s) to ${new URL(siem.url).origin} after 2 tries (HTTP 503); it will resume from its cursor`,
    });
    expect(String((err as Error).message)).not.toContain('s3cret');
    expect(await pump.cursor()).toBe(0);
    await pump.stop();
  });

  it('starts a sink that wants only new records at the head, and keeps the part of a batch it got through', async () => {
    db = await createTestDb(dialect);
    const audit = new SqlAuditLog(db);
    cleanups.push(() => audit.close());
    await audit.append([triggerEvent(1), triggerEvent(2)]);
    const seen: number[] = [];
    const sink = {
      name: 'chat',
      async deliver(records: readonly { seq: number }[]) {
        for (const r of records) {
          if (r.seq === 4) {
            throw new AirclutchError('DELIVERY_FAILED', 'receiver down', {
              details: { deliveredThrough: 3 },
            });
          }
          seen.push(r.seq);
        }
      },
    };
    const pump = new AuditSinkPump(db, sink, { from: 'now' });
    await pump.prime();
    expect(await pump.cursor()).toBe(2);
    await audit.append([triggerEvent(3), triggerEvent(4), triggerEvent(5)]);
    await expect(pump.drain()).rejects.toMatchObject({ code: 'DELIVERY_FAILED' });
    expect(seen).toEqual([3]);
    expect(await pump.cursor()).toBe(3);
    await pump.stop();
  });

  it('appends JSON lines to a file sink and follows new records while started', async () => {
    db = await createTestDb(dialect);
    const audit = new SqlAuditLog(db);
    cleanups.push(() => audit.close());
    const dir = mkdtempSync(join(tmpdir(), 'airclutch-sink-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'audit.jsonl');
    await audit.append([triggerEvent(1)]);
    const pump = new AuditSinkPump(db, new FileSink('file', file), { pollMs: 10 });
    expect(await pump.drain()).toBe(1);
    await audit.append([triggerEvent(2), triggerEvent(3)]);
    pump.start();
    await expect.poll(() => readFileSync(file, 'utf8').trim().split('\n').length).toBe(3);
    await pump.stop();
    const seqs = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { seq: number }).seq);
    expect(seqs).toEqual([1, 2, 3]);
  });
});
