/** The few column types that differ between SQLite and PostgreSQL. @module */
import { type CreateTableBuilder, sql } from 'kysely';
import type { DialectName } from '../create-db.ts';

/** Adds an auto-incrementing integer primary key `id`. */
export function autoId<T extends string>(table: CreateTableBuilder<T, never>, dialect: DialectName) {
  return dialect === 'postgres'
    ? table.addColumn('id', sql`bigserial`, (c) => c.primaryKey())
    : table.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
}
