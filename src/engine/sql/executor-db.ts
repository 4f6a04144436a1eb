/** Queries take either the database or an open transaction, so callers can compose them atomically. @module */
import { type Kysely, PostgresAdapter, type Transaction } from 'kysely';
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
