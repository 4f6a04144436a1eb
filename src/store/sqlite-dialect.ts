/** SQLite through better-sqlite3 12, tuned for durable, single-writer use: WAL, fsync on commit, `BEGIN IMMEDIATE`. @module */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { CompiledQuery, type DatabaseConnection, type Driver, SqliteDialect, SqliteDriver } from 'kysely';

/** A better-sqlite3 handle whose prepared statements are cached by SQL text. */
function cachingDatabase(db: Database.Database) {
  const cache = new Map<string, Database.Statement>();
  return {
    prepare(sql: string): Database.Statement {
      let stmt = cache.get(sql);
      if (!stmt) {
        stmt = db.prepare(sql);
        // Queries built with a variable number of parameters would grow this without bound.
        if (cache.size > 2_000) cache.clear();
        cache.set(sql, stmt);
      }
      return stmt;
    },
    close(): void {
      db.close();
    },
  };
}

class ImmediateSqliteDriver extends SqliteDriver {
  // A deferred transaction that reads and then writes can fail with SQLITE_BUSY when another
  // process (a CLI beside `airclutch dev`) holds the write lock; IMMEDIATE waits on busy_timeout instead.
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: ConstructorParameters<typeof SqliteDialect>[0];
  constructor(config: ConstructorParameters<typeof SqliteDialect>[0]) {
    super(config);
    this.#config = config;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}

/** Opens (creating if needed) a SQLite file with the pragmas Airclutch relies on. */
export function createSqliteDialect(file: string): { dialect: SqliteDialect; raw: Database.Database } {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const raw = new Database(file);
  raw.pragma('journal_mode = WAL');
  // FULL: every commit is fsynced, so an acknowledged state change survives a power cut.
  raw.pragma('synchronous = FULL');
  raw.pragma('busy_timeout = 5000');
  raw.pragma('foreign_keys = ON');
  const dialect = new ImmediateSqliteDialect({ database: cachingDatabase(raw) as never });
  return { dialect, raw };
}
