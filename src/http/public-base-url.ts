/** The base of the web UI links this server sends out (Slack messages): its public URL. @module */
import { DEFAULT_SESSION_PUBLIC_URL, type IdentityConfig } from '../identity/identity-config.ts';
import type { ServerConfig } from './server-config.ts';

/**
 * `server.publicUrl`, else `identity.session.publicUrl` when it was set (it is where browsers sign
 * in, so it is where they reach the UI), else the address the server listens on, an unspecified
 * one (`0.0.0.0`, `::`) read as loopback. No trailing slash.
 *
 * @example
 * publicBaseUrl({ server: { publicUrl: undefined }, identity }, 'http://127.0.0.1:8080'); // 'http://127.0.0.1:8080'
 */
export function publicBaseUrl(
  config: {
    server: Pick<ServerConfig, 'publicUrl'>;
    identity: { session: Pick<IdentityConfig['session'], 'publicUrl'> };
  },
  listenUrl: string,
): string {
  const session = config.identity.session.publicUrl;
  const chosen =
    config.server.publicUrl ?? (session !== DEFAULT_SESSION_PUBLIC_URL ? session : loopback(listenUrl));
  return chosen.replace(/\/+$/, '');
}

function loopback(listenUrl: string): string {
  const url = new URL(listenUrl);
  if (url.hostname === '0.0.0.0') url.hostname = '127.0.0.1';
  if (url.hostname === '[::]') url.hostname = '[::1]';
  return url.origin;
}
