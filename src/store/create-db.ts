/** Opens the store: SQLite by default, PostgreSQL for a `postgres://` URL. Both share one schema. @module */
import { resolve } from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './database.ts';
import { PipelinedClient } from './pipelined-client.ts';
import { createSqliteDialect } from './sqlite-dialect.ts';
import { SAFETY_NET_PAGES, WalCheckpointer } from './wal-checkpointer.ts';

export type DialectName = 'sqlite' | 'postgres';

/** A handle to the store. `kysely` runs queries; `dialect` lets the few dialect-specific queries choose. */
export interface Db {
  readonly kysely: Kysely<Database>;
  readonly dialect: DialectName;
  /** The PostgreSQL schema in use, when not the default. */
  readonly schema?: string | undefined;
  /** For messages: the file or the server, never a password. */
  readonly description: string;
  close(): Promise<void>;
}

// BIGINT columns hold epoch milliseconds and counters that fit in a double.
pg.types.setTypeParser(20, (v) => Number(v));

export interface CreateDbOptions {
  /** `postgres://…` or `sqlite:<path>` or a bare path. */
  url: string;
  /** PostgreSQL schema to use (tests give each file its own). */
  schema?: string;
  poolSize?: number;
  /**
   * SQLite only: `background` (the default for a file) checkpoints the WAL from a worker thread, off
   * the commit path (see `WalCheckpointer`); `inline` leaves it to SQLite's automatic checkpoint.
   */
  checkpoints?: 'background' | 'inline';
}

/**
 * @example
 * const db = createDb({ url: '.airclutch/airclutch.db' });
 * await migrateToLatest(db);
 */
export function createDb(options: CreateDbOptions): Db {
  const { url } = options;
  if (/^postgres(ql)?:\/\//.test(url)) {
    const pool = new pg.Pool({
      Client: PipelinedClient,
      connectionString: url,
      max: options.poolSize ?? 10,
      ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
    });
    const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    const u = new URL(url);
    return {
      kysely,
      dialect: 'postgres',
      schema: options.schema,
      description: `postgres://${u.host}${u.pathname}${options.schema ? ` (schema ${options.schema})` : ''}`,
      close: () => kysely.destroy(),
    };
  }
  const file = url === ':memory:' ? url : resolve(url.replace(/^sqlite:/, ''));
  const background = file !== ':memory:' && (options.checkpoints ?? 'background') === 'background';
  const { dialect, raw } = createSqliteDialect(file);
  const kysely = new Kysely<Database>({ dialect });
  if (!background) return { kysely, dialect: 'sqlite', description: file, close: () => kysely.destroy() };
  raw.pragma(`wal_autocheckpoint = ${SAFETY_NET_PAGES}`);
  const checkpointer = new WalCheckpointer({ file });
  return {
    kysely,
    dialect: 'sqlite',
    description: file,
    async close() {
      await checkpointer.stop();
      await kysely.destroy();
    },
  };
}
