/** The one query that moves the chain head: lock it, link and insert the records, move it. @module */
import { CompiledQuery, type Transaction } from 'kysely';
import type { DialectName } from '../store/create-db.ts';
import type { Database } from '../store/database.ts';
import { PREPARED, THEN_COMMIT } from '../store/pipelined-client.ts';
import { BODY_KEYS, canonicalBodyAroundSeq, recordHash, type UnplacedBody } from './audit-hash.ts';
import type { AppendedRecord } from './audit-types.ts';

/**
 * Rows in the next SQLite insert: a power of two, 256 at most (27 columns × 256 stays under the
 * bound-parameter limit). The driver keeps each statement shape prepared, and one shape per batch
 * size held 53 multi-row inserts, 8 MB of native memory, after the engine bench; these are 9 at
 * most. SQLite runs in process, so splitting a batch into a few inserts costs no round trip.
 */
function rowsInNextInsert(left: number): number {
  return 2 ** Math.floor(Math.log2(Math.min(256, left)));
}
const COLUMNS = [...BODY_KEYS, 'prev_hash', 'hash'] as const;

// The insert is written by hand: building a 10,000-parameter query through Kysely's AST costs more
// than the commit. The text depends only on the row count, so the driver reuses the statement.
const insertSqlCache = new Map<number, string>();
function insertSql(rows: number): string {
  let text = insertSqlCache.get(rows);
  if (!text) {
    const tuple = `(${COLUMNS.map(() => '?').join(',')})`;
    text = `insert into audit_records (${COLUMNS.join(',')}) values ${Array.from({ length: rows }, () => tuple).join(',')}`;
    insertSqlCache.set(rows, text);
  }
  return text;
}

// Bodies per call of the PostgreSQL function: bounds one message's size on a 10,000-task fan-out.
const RECORDS_PER_CALL = 2_000;
const APPEND_SQL = `${PREPARED}select o_from, o_hashes from airclutch_append_audit($1::text[], $2::text[])`;
const APPEND_THEN_COMMIT_SQL = `${APPEND_SQL} ${THEN_COMMIT}`;

/**
 * On PostgreSQL the function of migration 0014 places, hashes and inserts the records and moves the
 * head, under the head's row lock (`FOR UPDATE`, which serialises appenders across processes): one
 * round trip, where reading the head first and then inserting took two. `last`: the commit goes out
 * behind the last call (see `THEN_COMMIT`).
 */
async function appendOnPostgres(
  trx: Transaction<Database>,
  bodies: readonly UnplacedBody[],
  now: number,
  last: boolean,
): Promise<AppendedRecord[]> {
  const acks: AppendedRecord[] = new Array(bodies.length);
  for (let i = 0; i < bodies.length; i += RECORDS_PER_CALL) {
    const end = Math.min(i + RECORDS_PER_CALL, bodies.length);
    const befores: string[] = new Array(end - i);
    const afters: string[] = new Array(end - i);
    for (let r = i; r < end; r++) [befores[r - i], afters[r - i]] = canonicalBodyAroundSeq(bodies[r]!, now);
    const text = last && end === bodies.length ? APPEND_THEN_COMMIT_SQL : APPEND_SQL;
    const placed = (
      await trx.executeQuery<{ o_from: string; o_hashes: string[] }>(
        CompiledQuery.raw(text, [befores, afters]),
      )
    ).rows[0];
    if (!placed || placed.o_hashes.length !== end - i)
      throw new Error('airclutch_append_audit placed a different number of records than it was given');
    const from = Number(placed.o_from);
    for (let r = i; r < end; r++) acks[r] = { seq: from + r - i + 1, ts: now, hash: placed.o_hashes[r - i]! };
  }
  return acks;
}

/**
 * Appends rows after the current head, inside `trx`. On SQLite the transaction began with
 * `BEGIN IMMEDIATE`, so it already holds the single write lock. `last`: nothing else runs in `trx`
 * after this append (on PostgreSQL the commit then goes out right behind it).
 */
export async function appendRecords(
  trx: Transaction<Database>,
  dialect: DialectName,
  bodies: readonly UnplacedBody[],
  now: number,
  last = false,
): Promise<AppendedRecord[]> {
  if (bodies.length === 0) return [];
  if (dialect === 'postgres') return appendOnPostgres(trx, bodies, now, last);
  // Written as text, like the insert: these run once per append, on the gate's and the engine's hot paths.
  const head = (
    await trx.executeQuery<{ seq: number; hash: string }>(
      CompiledQuery.raw('select seq, hash from audit_head where id = 1'),
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
    end = i + rowsInNextInsert(bodies.length - i);
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
    await trx.executeQuery(CompiledQuery.raw(insertSql(end - i), params));
  }
  const moved = await trx.executeQuery(
    CompiledQuery.raw('update audit_head set seq = ?, hash = ? where id = 1 and seq = ?', [seq, prev, from]),
  );
  if (Number(moved.numAffectedRows) !== 1) throw new Error('the audit head moved while it was locked');
  return acks;
}
