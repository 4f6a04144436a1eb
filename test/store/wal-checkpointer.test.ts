import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/store/create-db.ts';
import { eventually } from '../helpers/eventually.ts';

/** Rows of ~1 KB each: 300 of them are ~75 WAL pages, far below SQLite's own 1,000-page checkpoint. */
async function writeRows(db: Db, count: number): Promise<void> {
  await sql`create table if not exists filler (id integer primary key, body text not null)`.execute(
    db.kysely,
  );
  for (let i = 0; i < count; i++) {
    await db.kysely
      .transaction()
      .execute((trx) => sql`insert into filler (body) values (${'x'.repeat(1_000)})`.execute(trx));
  }
}

describe('WAL checkpoints on SQLite', () => {
  let dir: string;
  let db: Db | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('copies committed pages into the database file from a background thread, well before SQLite itself would', async () => {
    dir = mkdtempSync(join(tmpdir(), 'airclutch-ckpt-'));
    const file = join(dir, 'a.db');
    db = createDb({ url: file });
    await writeRows(db, 300);
    // Only the background checkpointer moves pages into the file this early (see the inline case below).
    await eventually(
      () => statSync(file).size,
      (size) => size > 250_000,
    );
    // Every row is readable by another connection, and the WAL holds nothing left to copy.
    const other = new Database(file, { readonly: true });
    expect(other.prepare('select count(*) as n from filler').get()).toEqual({ n: 300 });
    other.close();
  });

  it('leaves checkpoints to SQLite when asked to, and closing removes the WAL either way', async () => {
    dir = mkdtempSync(join(tmpdir(), 'airclutch-ckpt-'));
    const file = join(dir, 'b.db');
    db = createDb({ url: file, checkpoints: 'inline' });
    await writeRows(db, 300);
    // Give a background thread, if there wrongly were one, time to act: nothing may have been copied.
    await new Promise((r) => setTimeout(r, 600));
    expect(statSync(file).size).toBeLessThan(100_000);
    await db.close();
    db = undefined;
    expect(existsSync(`${file}-wal`)).toBe(false);
    const other = new Database(file, { readonly: true });
    expect(other.prepare('select count(*) as n from filler').get()).toEqual({ n: 300 });
    other.close();
  });

  it('stops its thread on close, so the last connection checkpoints and removes the WAL', async () => {
    dir = mkdtempSync(join(tmpdir(), 'airclutch-ckpt-'));
    const file = join(dir, 'c.db');
    db = createDb({ url: file });
    await writeRows(db, 50);
    await db.close();
    db = undefined;
    expect(existsSync(`${file}-wal`)).toBe(false);
  });
});
