/**
 * Starts the HTTP API beside a running Airclutch: the token verifier, browser sign-in (when an
 * issuer is known), the server on `server.host:port`, and chat/webhook notifications. `airclutch
 * server` and `airclutch dev` call it.
 * @module
 */
import type { AddressInfo } from 'node:net';
import type { Airclutch } from '../app/create-airclutch.ts';
import type { Logger } from '../app/create-logger.ts';
import { insecureIssuerWarning } from '../identity/identity-config.ts';
import { OidcTokenVerifier } from '../identity/oidc-token-verifier.ts';
import { type WebSignIn, webSignIn } from '../identity/web-sign-in.ts';
import { AirclutchError } from '../lib/errors.ts';
import { chatNotifications } from './chat/chat-notifications.ts';
import { createServer } from './create-server.ts';
import { publicBaseUrl } from './public-base-url.ts';

export interface RunningHttp {
  /** `http://host:port` actually bound. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * @example
 * const app = await startAirclutch(config, { log });
 * const http = await startHttp(app, log);
 * process.once('SIGTERM', async () => { await http.close(); await app.stop(); });
 */
export async function startHttp(ac: Airclutch, log: Logger): Promise<RunningHttp> {
  const { config } = ac;
  const insecure = insecureIssuerWarning(config.identity);
  if (insecure) log.warn(insecure);
  const verifier = OidcTokenVerifier.fromConfig(config.identity);
  let signIn: WebSignIn | undefined;
  try {
    signIn = webSignIn(config.identity, ac.db, verifier);
  } catch (e) {
    log.warn(`browser sign-in is off: ${(e as Error).message}`);
  }
  const server = await createServer(ac, {
    verifier,
    ...(signIn ? { signIn } : {}),
    logger: log.child({ component: 'http' }),
    processMetrics: true,
  });
  const { host, port } = config.server;
  try {
    await server.listen({ host, port });
  } catch (e) {
    await server.close();
    throw listenFailure(e, host, port);
  }
  const address = server.server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  const stopNotifications = await chatNotifications(ac, config.server, {
    warn: (m) => log.warn(m),
    publicUrl: publicBaseUrl(config, url),
  });
  // Fetch the issuers' keys now so that the first request does not wait; an IdP that is down is only a warning.
  verifier.warm().catch((e) => log.warn(`token issuers not reachable yet: ${(e as Error).message}`));
  log.info({ url, docs: `${url}/docs` }, 'HTTP API listening');
  return {
    url,
    async close() {
      await server.close();
      await stopNotifications();
    },
  };
}

/** Why the API could not listen, when it is something the config can change: `CONFIG_INVALID`. */
function listenFailure(e: unknown, host: string, port: number): unknown {
  const why: Record<string, string> = {
    EADDRINUSE:
      'the port is taken: another process listens there, perhaps another Airclutch; stop it, or set server.port (AIRCLUTCH_PORT) to a free port',
    EACCES: 'this user may not listen on that port; set server.port (AIRCLUTCH_PORT) to 1024 or above',
    EADDRNOTAVAIL: `${host} is not an address of this machine; set server.host (AIRCLUTCH_HOST) to one, such as 127.0.0.1`,
  };
  const code = (e as NodeJS.ErrnoException).code;
  return code && why[code]
    ? new AirclutchError('CONFIG_INVALID', `the HTTP API cannot listen on ${host}:${port}: ${why[code]}`, {
        cause: e,
        details: { host, port },
      })
    : e;
}
