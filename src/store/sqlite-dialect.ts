/** SQLite through better-sqlite3 12, tuned for durable, single-writer use: WAL, fsync on commit, `BEGIN IMMEDIATE`. @module */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { CompiledQuery, type DatabaseConnection, type Driver, SqliteDialect, SqliteDriver } from 'kysely';
import { AirclutchError, describeThrown } from '../lib/errors.ts';

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

/** SQLite's page cache per connection, in KiB. */
export const PAGE_CACHE_KIB = 4_000;

/** Opens (creating if needed) a SQLite file with the pragmas Airclutch relies on. */
export function createSqliteDialect(file: string): { dialect: SqliteDialect; raw: Database.Database } {
  const raw = openFile(file);
  raw.pragma('journal_mode = WAL');
  // FULL: every commit is fsynced, so an acknowledged state change survives a power cut.
  raw.pragma('synchronous = FULL');
  raw.pragma('busy_timeout = 5000');
  raw.pragma('foreign_keys = ON');
  // 4 MB of page cache, where better-sqlite3 sets 16 MB: the engine's writes touch the tail of a few
  // indexes, and the rest of a grown file comes from the OS's cache. In the engine bench the full
  // 16 MB was ~15 MB of the process's peak RSS, and the smaller cache changed no timing.
  raw.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
  const dialect = new ImmediateSqliteDialect({ database: cachingDatabase(raw) as never });
  return { dialect, raw };
}

/**
 * The file opened by better-sqlite3. What a user can fix throws `STORE_UNAVAILABLE` saying how: a
 * driver whose install script never ran (npm 12 runs a dependency's install script only once the
 * project approves it) or that was built for another Node.js, or a folder that cannot be written.
 */
function openFile(file: string): Database.Database {
  try {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    return new Database(file);
  } catch (e) {
    throw sqliteOpenFailure(file, e);
  }
}

/** `STORE_UNAVAILABLE` for a SQLite file that could not be opened, with what to do about it. */
export function sqliteOpenFailure(file: string, e: unknown): AirclutchError {
  return new AirclutchError('STORE_UNAVAILABLE', `the SQLite store ${file} cannot be opened: ${whyNot(e)}`, {
    cause: e,
  });
}

function whyNot(e: unknown): string {
  const reason = describeThrown(e);
  if (reason.includes('Could not locate the bindings file'))
    return (
      "its driver, better-sqlite3, has no native module: its install script did not run (npm 12 runs a dependency's " +
      'install script only once it is approved); fix: `npm approve-scripts better-sqlite3 && npm rebuild better-sqlite3`, ' +
      'or set `databaseUrl` to a postgres:// URL'
    );
  if (/NODE_MODULE_VERSION|compiled against a different Node\.js version/.test(reason))
    return `its driver, better-sqlite3, was built for another Node.js than this one (${process.version}); fix: \`npm rebuild better-sqlite3\``;
  return `${reason}; fix: point \`databaseUrl\` or \`dataDir\` at a folder this user can create and write`;
}
