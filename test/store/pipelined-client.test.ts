import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipelinedClient, PREPARED, THEN_COMMIT } from '../../src/store/pipelined-client.ts';
import { createTestDb, PG_URL, type TestDb } from '../helpers/test-db.ts';

describe('PostgreSQL clients with begin and commit pipelined, and prepared statements', () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await createTestDb('postgres', { migrate: false });
    await sql`create table notes (id integer primary key, body text not null)`.execute(db.kysely);
  });
  afterAll(async () => {
    await db.close();
  });

  it('rolls back every statement of a transaction when a later one fails', async () => {
    const err = await db.kysely
      .transaction()
      .execute(async (trx) => {
        await sql`insert into notes (id, body) values (1, 'kept?')`.execute(trx);
        await sql`insert into notes (id, body) values (1, 'duplicate')`.execute(trx);
      })
      .catch((e) => e);
    expect(err.code).toBe('23505');
    const { rows } = await sql`select count(*)::int as n from notes`.execute(db.kysely);
    expect(rows).toEqual([{ n: 0 }]);
  });

  it('commits a transaction whose first statement went out behind its begin', async () => {
    await db.kysely.transaction().execute(async (trx) => {
      await sql`insert into notes (id, body) values (2, 'one')`.execute(trx);
      const { rows } = await sql<{ txid: string }>`select txid_current_if_assigned()::text as txid`.execute(
        trx,
      );
      // Inside a transaction: the insert's transaction id is still the current one.
      expect(rows[0]!.txid).not.toBeNull();
    });
    const { rows } = await sql`select body from notes where id = 2`.execute(db.kysely);
    expect(rows).toEqual([{ body: 'one' }]);
  });

  it('runs a prepared statement again and again, and after a column is added to its table', async () => {
    const read = (id: number) =>
      sql<{ body: string }>`${sql.raw(PREPARED)}select body from notes where id = ${id}`.execute(db.kysely);
    await sql`insert into notes (id, body) values (3, 'three'), (4, 'four')`.execute(db.kysely);
    for (let i = 0; i < 8; i++) expect((await read(3)).rows).toEqual([{ body: 'three' }]);
    await sql`alter table notes add column extra text`.execute(db.kysely);
    expect((await read(4)).rows).toEqual([{ body: 'four' }]);
  });

  const lastly = (text: string) => sql.raw(`${text} ${THEN_COMMIT}`);
  const bodies = async (from: number, to: number) =>
    (
      await sql<{
        body: string;
      }>`select body from notes where id between ${from} and ${to} order by id`.execute(db.kysely)
    ).rows.map((r) => r.body);

  it('commits a transaction with the commit sent behind its statement marked THEN_COMMIT', async () => {
    const result = await db.kysely.transaction().execute(async (trx) => {
      await sql`insert into notes (id, body) values (10, 'first')`.execute(trx);
      const { rows } = await lastly("insert into notes (id, body) values (11, 'last') returning id").execute(
        trx,
      );
      return rows;
    });
    expect(result).toEqual([{ id: 11 }]);
    expect(await bodies(10, 11)).toEqual(['first', 'last']);
  });

  it('keeps nothing of a transaction whose statement marked THEN_COMMIT fails', async () => {
    const err = await db.kysely
      .transaction()
      .execute(async (trx) => {
        await sql`insert into notes (id, body) values (20, 'kept?')`.execute(trx);
        await lastly("insert into notes (id, body) values (10, 'duplicate')").execute(trx);
      })
      .catch((e) => e);
    expect(err.code).toBe('23505');
    expect(await bodies(20, 20)).toEqual([]);
    await db.kysely.transaction().execute(async (trx) => {
      await sql`insert into notes (id, body) values (21, 'after')`.execute(trx);
    });
    expect(await bodies(20, 21)).toEqual(['after']);
  });

  it('refuses a statement after the one marked THEN_COMMIT, and says the transaction was kept', async () => {
    const err = await db.kysely
      .transaction()
      .execute(async (trx) => {
        await lastly("insert into notes (id, body) values (30, 'marked')").execute(trx);
        await sql`insert into notes (id, body) values (31, 'too late')`.execute(trx);
      })
      .catch((e) => e);
    expect(err.message).toMatch(/committed behind its last statement .*its changes are kept/);
    expect(await bodies(30, 31)).toEqual(['marked']);
  });

  it('holds begin in the socket until the statement behind it, and sends it alone when that statement waits on other work', async () => {
    const client = new PipelinedClient({ connectionString: PG_URL });
    await client.connect();
    try {
      const stream = (client as unknown as { connection: { stream: { writableCorked: number } } }).connection
        .stream;
      await client.query('begin');
      expect(stream.writableCorked).toBeGreaterThan(0);
      const one = await client.query('select 1 as n');
      expect(stream.writableCorked).toBe(0);
      expect(one.rows).toEqual([{ n: 1 }]);
      await client.query('commit');

      await client.query('begin');
      await new Promise((r) => setImmediate(r));
      expect(stream.writableCorked).toBe(0);
      await new Promise((r) => setTimeout(r, 20));
      // The transaction began when begin was sent, before the wait, not with this statement.
      const two = await client.query("select statement_timestamp() - now() >= interval '15 ms' as early");
      expect(two.rows).toEqual([{ early: true }]);
      await client.query('commit');
    } finally {
      await client.end();
    }
  });

  it('ignores the THEN_COMMIT mark outside a transaction, and the connection serves the next caller', async () => {
    await lastly("insert into notes (id, body) values (40, 'alone')").execute(db.kysely);
    for (let i = 41; i < 49; i++)
      await sql`insert into notes (id, body) values (${i}, 'next')`.execute(db.kysely);
    expect(await bodies(40, 48)).toHaveLength(9);
  });
});
