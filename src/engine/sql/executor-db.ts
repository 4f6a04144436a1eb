/** Queries take either the database or an open transaction, so callers can compose them atomically. @module */
import { CompiledQuery, type Kysely, PostgresAdapter, type Transaction } from 'kysely';
import type { Database } from '../../store/database.ts';

export type Queryable = Kysely<Database> | Transaction<Database>;

/** Splits a list for multi-row statements, below SQLite's bound-parameter limit. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * True on PostgreSQL, where each statement is a round trip to the server: there, a few queries are
 * one statement (data-modifying CTEs) instead of two. SQLite runs in process and keeps the plain ones.
 */
export function isPostgres(q: Queryable): boolean {
  return q.getExecutor().adapter instanceof PostgresAdapter;
}

/**
 * Runs SQL written as text, with `?` placeholders (numbered `$n` on PostgreSQL). The engine's
 * per-task and per-run statements use it: building them through Kysely's query builder allocated
 * more (its AST, then the compile) than the database's own work. The text must have no `?` other
 * than placeholders, and on PostgreSQL every placeholder's type must follow from its column.
 */
export async function rawQuery<R>(q: Queryable, text: string, params: readonly unknown[]): Promise<R[]> {
  return (await q.executeQuery<R>(compiled(q, text, params))).rows;
}

/** Rows an UPDATE or DELETE written as text changed. */
export async function rawUpdate(q: Queryable, text: string, params: readonly unknown[]): Promise<number> {
  return Number((await q.executeQuery(compiled(q, text, params))).numAffectedRows ?? 0);
}

function compiled(q: Queryable, text: string, params: readonly unknown[]): CompiledQuery {
  return CompiledQuery.raw(isPostgres(q) ? numbered(text) : text, params as unknown[]);
}

const numberedCache = new Map<string, string>();
function numbered(text: string): string {
  let out = numberedCache.get(text);
  if (out === undefined) {
    let n = 0;
    out = text.replace(/\?/g, () => `$${++n}`);
    if (numberedCache.size > 2_000) numberedCache.clear();
    numberedCache.set(text, out);
  }
  return out;
}

const tupleCache = new Map<string, string>();
/**
 * `rows` copies of a tuple, comma-separated, built once per shape: a number is that many SQLite
 * placeholders (`(?,?,?)`), a string is the tuple's own text (`(?, 'running', ?)`, or `?` for a list).
 */
export function tuples(rows: number, tuple: number | string): string {
  const key = `${rows}|${tuple}`;
  let text = tupleCache.get(key);
  if (text === undefined) {
    const one = typeof tuple === 'string' ? tuple : `(${Array.from({ length: tuple }, () => '?').join(',')})`;
    text = Array.from({ length: rows }, () => one).join(',');
    tupleCache.set(key, text);
  }
  return text;
}
