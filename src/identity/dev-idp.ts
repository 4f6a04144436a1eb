/**
 * The embedded dev IdP: a real OpenID provider (`oidc-provider`) on loopback with demo people in
 * groups, a client-credentials service client and first-party clients for Airclutch's own sign-in.
 * It refuses to start outside dev mode.
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AirclutchError } from '../lib/errors.ts';
import { DEMO_USERS } from './demo-users.ts';
import {
  AIRCLUTCH_RESOURCE,
  DEV_IMPERSONATION_GRANT,
  DEV_MFA,
  devIdpConfiguration,
  resourceServerInfo,
} from './dev-idp-configuration.ts';
import { devInteractions } from './dev-idp-interactions.ts';
import { loadOrCreateDevIdpKeys } from './dev-idp-keys.ts';
import { requestDevToken, requestServiceToken } from './dev-token-client.ts';
import type { DevIdpUser } from './identity-config.ts';

/** What a demo person's dev token may do unless a scope is asked for. */
export const DEFAULT_USER_SCOPE = 'airclutch:view airclutch:trigger airclutch:approve airclutch:cancel';

export interface StartDevIdpOptions {
  /** 0 picks a free port. Default 4455. */
  readonly port?: number;
  /** Keys persist under `<dataDir>/dev-idp/`. */
  readonly dataDir: string;
  /** Must be `dev`: the dev IdP never runs in production. */
  readonly mode?: 'dev' | 'production';
  readonly users?: readonly DevIdpUser[];
  readonly audience?: string;
  readonly accessTokenTtlSec?: number;
  readonly webRedirectUris?: readonly string[];
  /** More client-credentials clients beside `ci-bot`. */
  readonly serviceClients?: readonly { readonly clientId: string; readonly clientSecret: string }[];
  /**
   * Leaves out oidc-provider's dev-mode warnings (Node version, in-memory adapter, dev
   * interactions): for an IdP a CLI command starts for its own length, where they are only noise.
   */
  readonly quiet?: boolean;
}

export interface DevIdp {
  /** `http://127.0.0.1:<port>`: trust it as an issuer (dev mode does so automatically). */
  readonly issuer: string;
  readonly audience: string;
  /** A signed access token for a demo person, e.g. `eng@example.com`. */
  mintToken(as: string, options?: { scope?: string; mfa?: boolean }): Promise<string>;
  /** A client-credentials token for the `ci-bot` service client, or another of `serviceClients`. */
  serviceToken(options?: {
    scope?: string;
    client?: { clientId: string; clientSecret: string };
  }): Promise<string>;
  close(): Promise<void>;
}

/**
 * Starts the dev IdP on 127.0.0.1.
 *
 * @example
 * const idp = await startDevIdp({ port: 0, dataDir: tmp });
 * const token = await idp.mintToken('lead@example.com');
 * await idp.close();
 */
export async function startDevIdp(options: StartDevIdpOptions): Promise<DevIdp> {
  if ((options.mode ?? 'dev') !== 'dev') {
    throw new AirclutchError(
      'CONFIG_INVALID',
      'the embedded dev IdP only runs in dev mode (identity.mode: dev); in production, trust your organisation IdP under identity.issuers',
    );
  }
  const users = options.users ?? DEMO_USERS;
  const audience = options.audience ?? 'airclutch';
  const keys = await loadOrCreateDevIdpKeys(options.dataDir);
  // The issuer must be known before the provider exists, and port 0 is only resolved by listening.
  let ready!: (handler: (req: unknown, res: unknown) => void) => void;
  const handler = new Promise<(req: unknown, res: unknown) => void>((resolve) => {
    ready = resolve;
  });
  const server: Server = createServer((req, res) => {
    // No keep-alive: clients never hold pooled sockets that a dev IdP restart would leave dead.
    res.setHeader('connection', 'close');
    // A CLI command that finds this port taken asks at once: it waits for the provider, not a dropped request.
    void handler.then((h) => h(req, res));
  });
  await listen(server, options.port ?? 4455);
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const settings = {
    users,
    audience,
    accessTokenTtlSec: options.accessTokenTtlSec ?? 300,
    ...(options.webRedirectUris ? { webRedirectUris: options.webRedirectUris } : {}),
    ...(options.serviceClients ? { serviceClients: options.serviceClients } : {}),
  };
  // Loaded on demand: only dev mode needs it, and it warns on import under Node 20.
  const provider = await withoutProviderWarnings(options.quiet === true, async () => {
    const { default: Provider } = await import('oidc-provider');
    return new Provider(issuer, devIdpConfiguration(settings, keys));
  });
  provider.registerGrantType(
    DEV_IMPERSONATION_GRANT,
    impersonationHandler(users, resourceServerInfo(settings)),
    ['subject', 'scope', 'mfa'],
  );
  const callback = provider.callback();
  const interactions = devInteractions(provider, users);
  ready(async (req, res) => {
    if (!(await interactions(req as IncomingMessage, res as ServerResponse))) callback(req, res);
  });
  return {
    issuer,
    audience,
    mintToken: (as, o) => requestDevToken(issuer, as, o),
    serviceToken: (o) => requestServiceToken(issuer, o),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE'
          ? new AirclutchError(
              'CONFIG_INVALID',
              `port ${port} is taken; is the dev IdP already running? Set identity.devIdp.port to move it`,
              { details: { portTaken: port } },
            )
          : e,
      ),
    );
    server.listen(port, '127.0.0.1', () => resolve());
  });
}

function impersonationHandler(users: readonly DevIdpUser[], info: object): (ctx: any) => Promise<void> {
  return async (ctx) => {
    const { provider, client, params } = ctx.oidc;
    const user = users.find((u) => u.email === params.subject);
    if (!user) {
      ctx.status = 400;
      ctx.body = {
        error: 'invalid_grant',
        error_description: `no demo user ${params.subject}; known: ${users.map((u) => u.email).join(', ')}`,
      };
      return;
    }
    const token = new provider.AccessToken({
      accountId: user.email,
      client,
      gty: DEV_IMPERSONATION_GRANT,
      scope: String(params.scope ?? DEFAULT_USER_SCOPE),
    });
    // `mfa=true`: the token says a second factor was used (amr), so break-glass can be shown in dev.
    if (params.mfa === 'true') token[DEV_MFA] = true;
    token.resourceServer = new provider.ResourceServer(AIRCLUTCH_RESOURCE, info);
    const value = await token.save();
    ctx.body = {
      access_token: value,
      token_type: 'Bearer',
      expires_in: token.expiration,
      scope: token.scope,
    };
  };
}

/** Runs `fn` with oidc-provider's `WARNING` lines dropped from console.warn, when `quiet`. */
async function withoutProviderWarnings<T>(quiet: boolean, fn: () => Promise<T>): Promise<T> {
  if (!quiet) return fn();
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes('oidc-provider WARNING')) return;
    warn(...args);
  };
  try {
    return await fn();
  } finally {
    console.warn = warn;
  }
}
