/** The one query that moves the chain head: lock it, link and insert the records, move it. @module */
import { CompiledQuery, sql, type Transaction } from 'kysely';
import type { DialectName } from '../store/create-db.ts';
import type { Database } from '../store/database.ts';
import { type AuditRow, type AuditRowBody, BODY_KEYS, recordHash } from './audit-hash.ts';
import type { AppendedRecord } from './audit-types.ts';

// 27 columns × 400 rows stays under SQLite's and PostgreSQL's bound-parameter limits.
const ROWS_PER_INSERT = 400;
const COLUMNS = [...BODY_KEYS, 'prev_hash', 'hash'] as const;

// The insert is written by hand: building a 10,000-parameter query through Kysely's AST costs more
// than the commit. The text depends only on the dialect and row count, so drivers reuse the statement.
const insertSqlCache = new Map<string, string>();
function insertSql(dialect: DialectName, rows: number): string {
  const key = `${dialect}:${rows}`;
  let text = insertSqlCache.get(key);
  if (!text) {
    let n = 0;
    const tuple = () => `(${COLUMNS.map(() => (dialect === 'postgres' ? `$${++n}` : '?')).join(',')})`;
    text = `insert into audit_records (${COLUMNS.join(',')}) values ${Array.from({ length: rows }, tuple).join(',')}`;
    insertSqlCache.set(key, text);
  }
  return text;
}

/** On PostgreSQL: the insert of `rows` records and the head's move, in one statement. */
function insertAndMoveSql(rows: number): string {
  const key = `postgres:${rows}:move`;
  let text = insertSqlCache.get(key);
  if (!text) {
    const n = rows * COLUMNS.length;
    text = `with ins as (${insertSql('postgres', rows)}) update audit_head set seq = $${n + 1}, hash = $${n + 2} where id = 1 and seq = $${n + 3}`;
    insertSqlCache.set(key, text);
  }
  return text;
}

/**
 * Appends rows after the current head, inside `trx`. On PostgreSQL `FOR UPDATE` on the head row
 * serialises appenders across processes, and the head moves in the same statement as the last insert
 * (three round trips for an append: lock, insert + move, and the commit); on SQLite the transaction
 * began with `BEGIN IMMEDIATE`, so it already holds the single write lock.
 */
export async function appendRecords(
  trx: Transaction<Database>,
  dialect: DialectName,
  bodies: readonly Omit<AuditRowBody, 'seq' | 'ts'>[],
  now: number,
): Promise<AppendedRecord[]> {
  const head =
    dialect === 'postgres'
      ? (
          await sql<{
            seq: number;
            hash: string;
          }>`select seq, hash from audit_head where id = 1 for update`.execute(trx)
        ).rows[0]
      : await trx.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirst();
  if (!head) throw new Error('audit_head has no row: the audit migration did not run');
  let seq = Number(head.seq);
  let prev = head.hash;
  const rows: AuditRow[] = [];
  const acks: AppendedRecord[] = [];
  for (const b of bodies) {
    seq += 1;
    const body: AuditRowBody = { ...b, seq, ts: now };
    const hash = recordHash(prev, body);
    rows.push({ ...body, prev_hash: prev, hash });
    acks.push({ seq, ts: now, hash });
    prev = hash;
  }
  const from = Number(head.seq);
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    const chunk = rows.slice(i, i + ROWS_PER_INSERT);
    const params: unknown[] = [];
    for (const r of chunk) for (const c of COLUMNS) params.push(r[c]);
    const last = i + ROWS_PER_INSERT >= rows.length;
    if (dialect === 'postgres' && last) {
      // The last insert and the head's move are one statement: one round trip less per append.
      params.push(seq, prev, from);
      const moved = await trx.executeQuery(CompiledQuery.raw(insertAndMoveSql(chunk.length), params));
      if (Number(moved.numAffectedRows) !== 1) throw new Error('the audit head moved while it was locked');
      return acks;
    }
    await trx.executeQuery(CompiledQuery.raw(insertSql(dialect, chunk.length), params));
  }
  const moved = await trx
    .updateTable('audit_head')
    .set({ seq, hash: prev })
    .where('id', '=', 1)
    .where('seq', '=', from)
    .executeTakeFirst();
  if (Number(moved.numUpdatedRows) !== 1) throw new Error('the audit head moved while it was locked');
  return acks;
}
