/**
 * Airclutch as a user runs it, for benchmarks: DAG files and Cedar policies in a temp folder, a
 * config file, `loadConfig`, `createAirclutch` (the gate, the audit trail recording every engine
 * transition in the cycle's transaction), on a fresh SQLite file or PostgreSQL schema. Principals
 * come from RS256 access tokens of a local issuer, verified by `OidcTokenVerifier`.
 * @module
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type Airclutch, createAirclutch } from '../src/app/create-airclutch.ts';
import type { AirclutchConfig } from '../src/config/config-schema.ts';
import { loadConfig } from '../src/config/load-config.ts';
import { trustedIssuerSchema } from '../src/identity/identity-config.ts';
import { OidcTokenVerifier } from '../src/identity/oidc-token-verifier.ts';
import type { DialectName } from '../src/store/create-db.ts';
import { createTestDb, type TestDb } from '../test/helpers/test-db.ts';
import { type JwksServer, startJwksServer } from '../test/identity/helpers/jwks-server.ts';
import { growWal } from './grow-wal.ts';

export interface BenchIssuer {
  readonly server: JwksServer;
  readonly verifier: OidcTokenVerifier;
  /** A new RS256 access token (its own `jti`) for `email` in `groups`, valid for an hour. */
  token(email: string, groups: readonly string[]): Promise<string>;
  close(): Promise<void>;
}

let jti = 0;

/** A local OpenID issuer (discovery + JWKS on loopback) and a verifier that trusts it. */
export async function startBenchIssuer(alg: 'RS256' | 'ES256' = 'RS256'): Promise<BenchIssuer> {
  const server = await startJwksServer(alg);
  const verifier = new OidcTokenVerifier({
    issuers: [trustedIssuerSchema.parse({ issuer: server.issuer, audiences: ['airclutch'], typ: 'at+jwt' })],
    requiredScopes: { trigger: ['airclutch:trigger'] },
  });
  await verifier.warm();
  return {
    server,
    verifier,
    token: (email, groups) =>
      server.sign(
        {
          sub: email,
          email,
          groups: [...groups],
          aud: 'airclutch',
          client_id: 'airclutch-cli',
          scope: 'openid airclutch:trigger',
          jti: `bench-${process.pid}-${++jti}`,
        },
        { exp: Math.floor(Date.now() / 1000) + 3_600 },
      ),
    close: () => server.close(),
  };
}

export interface BenchWorld extends Airclutch {
  readonly dir: string;
  dispose(): Promise<void>;
}

/** Writes `files` and `airclutch.config.yaml` (env `dev`: `dags/`, `policies/`, then `configYaml`). */
export async function writeProject(
  files: Record<string, string>,
  configYaml = '',
): Promise<{ dir: string; config: AirclutchConfig }> {
  const dir = mkdtempSync(join(tmpdir(), 'airclutch-bench-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  writeFileSync(
    join(dir, 'airclutch.config.yaml'),
    `environments:\n  dev:\n    dags: [dags]\n    policies: [policies]\n${configYaml}`,
  );
  return { dir, config: await loadConfig({ cwd: dir, env: {} }) };
}

/**
 * `steadyWal` (default true): a SQLite store starts with its WAL at the size a running server's has
 * (`growWal`), so the figures are a running server's, not those of its first seconds.
 */
export async function createBenchWorld(
  dialect: DialectName,
  files: Record<string, string>,
  configYaml = '',
  options: { steadyWal?: boolean } = {},
): Promise<BenchWorld> {
  const { dir, config } = await writeProject(files, configYaml);
  let db: TestDb | undefined;
  try {
    db = await createTestDb(dialect);
    if (options.steadyWal ?? true) await growWal(db);
    const ac = await createAirclutch(config, { db });
    const store = db;
    return {
      ...ac,
      dir,
      async dispose() {
        await ac.scheduler.stop();
        await ac.engine.stop(1_000);
        await ac.close();
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
