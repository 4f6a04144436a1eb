/**
 * The Airclutch server of a CLI test's project: its dev IdP (unless one runs already) and the HTTP
 * API on a free loopback port, over the project's store. CLI processes reach it through AIRCLUTCH_URL.
 */
import type { FastifyInstance } from 'fastify';
import { type Airclutch, createAirclutch } from '../../src/app/create-airclutch.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { createServer } from '../../src/http/create-server.ts';
import type { DevIdp } from '../../src/identity/dev-idp.ts';
import { OidcTokenVerifier } from '../../src/identity/oidc-token-verifier.ts';
import { startConfiguredDevIdp } from '../../src/identity/start-configured-dev-idp.ts';

export interface CliServer {
  readonly url: string;
  readonly ac: Airclutch;
  close(): Promise<void>;
}

export async function startCliServer(
  configPath: string,
  options: { idp?: boolean } = {},
): Promise<CliServer> {
  const config = await loadConfig({ path: configPath });
  let idp: DevIdp | undefined;
  if (options.idp !== false) idp = await startConfiguredDevIdp(config, { quiet: true });
  const ac = await createAirclutch(config);
  let app: FastifyInstance;
  try {
    app = await createServer(ac, { verifier: OidcTokenVerifier.fromConfig(config.identity), logPollMs: 20 });
    await app.listen({ port: 0, host: '127.0.0.1' });
  } catch (e) {
    await ac.close();
    await idp?.close();
    throw e;
  }
  return {
    url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}`,
    ac,
    async close() {
      await app.close();
      await ac.close();
      await idp?.close();
    },
  };
}
