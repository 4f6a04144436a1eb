/**
 * The HTTP API on real parts: the gate world (DAG files, Cedar policies, a SQLite or PostgreSQL store, engine), the
 * dev IdP (oidc-provider on loopback) minting real tokens, and the server listening on 127.0.0.1.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type CreateServerOptions, createServer } from '../../src/http/create-server.ts';
import { type ServerConfig, serverConfigSchema } from '../../src/http/server-config.ts';
import { type DevIdp, startDevIdp } from '../../src/identity/dev-idp.ts';
import { identityConfigSchema } from '../../src/identity/identity-config.ts';
import { OidcTokenVerifier } from '../../src/identity/oidc-token-verifier.ts';
import type { DialectName } from '../../src/store/create-db.ts';
import { createWorld, type World } from '../helpers/gate-world.ts';

export const EXTRA_FILES = {
  'policies/audit.cedar': `
@reason("admins read the trail")
permit (principal in Group::"admins", action == Action::"readAudit", resource);
@reason("admins see everything")
permit (principal in Group::"admins", action in Action::"read", resource);
`,
  'dags/chatty.ts': `
import { dag } from 'airclutch';
import { z } from 'zod';
const d = dag({ id: 'chatty', params: z.object({ pauseMs: z.number().int().default(0) }) });
d.task('talk', async (ctx) => {
  ctx.log('first line');
  await new Promise((r) => setTimeout(r, ctx.params.pauseMs));
  ctx.log('second line');
  return 1;
});
export default d;
`,
};

export interface HttpWorld {
  readonly world: World;
  readonly idp: DevIdp;
  readonly app: FastifyInstance;
  readonly base: string;
  /** The server section the server was started with. */
  readonly server: ServerConfig;
  token(email: string, scope?: string): Promise<string>;
  /** fetch against the server with an optional bearer token and JSON body. */
  call(
    method: string,
    path: string,
    init?: { token?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<{ status: number; headers: Headers; json: any; text: string }>;
  runCount(): Promise<number>;
  close(): Promise<void>;
}

export async function startHttpWorld(
  options: {
    server?: Partial<ServerConfig>;
    now?: () => number;
    files?: Record<string, string>;
    dialect?: DialectName;
    /** The config file's text (YAML), instead of the one `dev` environment. */
    config?: string;
    /** The world's clock (engine, gate, audit), where `now` is only the server's. */
    clock?: () => number;
    ui?: CreateServerOptions['ui'];
    logger?: CreateServerOptions['logger'];
  } = {},
): Promise<HttpWorld> {
  const dir = mkdtempSync(join(tmpdir(), 'airclutch-http-'));
  const idp = await startDevIdp({ port: 0, dataDir: dir, accessTokenTtlSec: 3_600, quiet: true });
  const world = await createWorld(options.dialect ?? 'sqlite', {
    files: { ...EXTRA_FILES, ...options.files },
    ...(options.config ? { config: options.config } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const verifier = OidcTokenVerifier.fromConfig(
    identityConfigSchema.parse({
      devIdp: { port: Number(new URL(idp.issuer).port) },
      requiredScopes: { trigger: ['airclutch:trigger'] },
    }),
  );
  const server = serverConfigSchema.parse({ ...options.server });
  const app = await createServer(world, {
    verifier,
    server,
    logPollMs: 20,
    ...(options.ui !== undefined ? { ui: options.ui } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const tokens = new Map<string, string>();
  return {
    world,
    idp,
    app,
    base,
    server,
    async token(email, scope) {
      const key = `${email} ${scope ?? ''}`;
      let t = tokens.get(key);
      if (!t) {
        t = await idp.mintToken(email, scope ? { scope } : undefined);
        tokens.set(key, t);
      }
      return t;
    },
    async call(method, path, init = {}) {
      const headers: Record<string, string> = { ...init.headers };
      if (init.token) headers.authorization = `Bearer ${init.token}`;
      if (init.body !== undefined) headers['content-type'] ??= 'application/json';
      const res = await fetch(`${base}${path}`, {
        method,
        headers,
        ...(init.body !== undefined
          ? { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }
          : {}),
      });
      const text = await res.text();
      let json: any;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, headers: res.headers, json, text };
    },
    async runCount() {
      const r = await world.db.kysely
        .selectFrom('runs')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },
    async close() {
      await app.close();
      await world.dispose();
      await idp.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
