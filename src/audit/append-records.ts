/** The one query that moves the chain head: lock it, link and insert the records, move it. @module */
import { CompiledQuery, type Transaction } from 'kysely';
import type { DialectName } from '../store/create-db.ts';
import type { Database } from '../store/database.ts';
import { BODY_KEYS, recordHash, type UnplacedBody } from './audit-hash.ts';
import type { AppendedRecord } from './audit-types.ts';

// 27 columns × 400 rows stays under SQLite's and PostgreSQL's bound-parameter limits.
const ROWS_PER_INSERT = 400;

/**
 * Rows in the next insert. On SQLite a power of two (256 at most): the driver keeps each statement
 * shape prepared, and one shape per batch size held 53 multi-row inserts, 8 MB of native memory,
 * after the engine bench; these are 9 at most. SQLite runs in process, so splitting a batch into
 * a few inserts costs no round trip. PostgreSQL keeps one insert per 400 rows.
 */
function rowsInNextInsert(dialect: DialectName, left: number): number {
  if (dialect === 'postgres') return Math.min(ROWS_PER_INSERT, left);
  return 2 ** Math.floor(Math.log2(Math.min(256, left)));
}
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
  bodies: readonly UnplacedBody[],
  now: number,
): Promise<AppendedRecord[]> {
  if (bodies.length === 0) return [];
  // Written as text, like the insert: these run once per append, on the gate's and the engine's hot paths.
  const head = (
    await trx.executeQuery<{ seq: number; hash: string }>(
      CompiledQuery.raw(
        dialect === 'postgres'
          ? 'select seq, hash from audit_head where id = 1 for update'
          : 'select seq, hash from audit_head where id = 1',
      ),
    )
  ).rows[0];
  if (!head) throw new Error('audit_head has no row: the audit migration did not run');
  const from = Number(head.seq);
  // Each record's hash; its `prev_hash` is the one before (the head's for the first). The rows are
  // never materialised as objects: a 10,000-task fan-out appends 20,000 records, and two 27-key
  // copies of each were a quarter of everything it allocated.
  const hashes: string[] = new Array(bodies.length);
  const acks: AppendedRecord[] = new Array(bodies.length);
  let prev = head.hash;
  for (let i = 0; i < bodies.length; i++) {
    const seq = from + i + 1;
    prev = recordHash(prev, bodies[i]!, seq, now);
    hashes[i] = prev;
    acks[i] = { seq, ts: now, hash: prev };
  }
  const seq = from + bodies.length;
  for (let i = 0, end = 0; i < bodies.length; i = end) {
    end = i + rowsInNextInsert(dialect, bodies.length - i);
    const params: unknown[] = new Array((end - i) * COLUMNS.length);
    let p = 0;
    for (let r = i; r < end; r++) {
      const b = bodies[r]!;
      for (const c of COLUMNS) {
        params[p++] =
          c === 'seq'
            ? from + r + 1
            : c === 'ts'
              ? now
              : c === 'prev_hash'
                ? r === 0
                  ? head.hash
                  : hashes[r - 1]
                : c === 'hash'
                  ? hashes[r]
                  : b[c];
      }
    }
    const last = end === bodies.length;
    if (dialect === 'postgres' && last) {
      // The last insert and the head's move are one statement: one round trip less per append.
      params.push(seq, prev, from);
      const moved = await trx.executeQuery(CompiledQuery.raw(insertAndMoveSql(end - i), params));
      if (Number(moved.numAffectedRows) !== 1) throw new Error('the audit head moved while it was locked');
      return acks;
    }
    await trx.executeQuery(CompiledQuery.raw(insertSql(dialect, end - i), params));
  }
  const moved = await trx.executeQuery(
    CompiledQuery.raw('update audit_head set seq = ?, hash = ? where id = 1 and seq = ?', [seq, prev, from]),
  );
  if (Number(moved.numAffectedRows) !== 1) throw new Error('the audit head moved while it was locked');
  return acks;
}
