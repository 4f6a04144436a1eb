/** Sinks that write JSON Lines: to stdout (for a log shipper) or appended to a file, fsynced per batch. @module */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { AuditRecord, AuditSink } from './audit-types.ts';

const lines = (records: readonly AuditRecord[]) => records.map((r) => `${JSON.stringify(r)}\n`).join('');

/**
 * Writes each record as one JSON line to a stream (stdout by default).
 *
 * @example
 * new AuditSinkPump(db, new StreamSink('stdout', process.stdout)).start();
 */
export class StreamSink implements AuditSink {
  constructor(
    readonly name: string,
    private readonly out: Writable = process.stdout,
  ) {}

  async deliver(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    await new Promise<void>((resolve, reject) => {
      this.out.write(lines(records), (e) => (e ? reject(e) : resolve()));
    });
  }
}

/**
 * Appends JSON lines to a file and fsyncs before acknowledging, so the cursor never runs ahead of
 * what is on disk.
 */
export class FileSink implements AuditSink {
  #fd: number | undefined;
  constructor(
    readonly name: string,
    private readonly path: string,
  ) {}

  async deliver(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    this.#fd ??= openSync(this.path, 'a', 0o600);
    writeSync(this.#fd, lines(records));
    fsyncSync(this.#fd);
  }

  async close(): Promise<void> {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}
