/**
 * `airclutch login` as a library: the authorization code flow with PKCE and a loopback redirect
 * (RFC 8252), and refreshing the stored tokens before they expire.
 * @module
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oidc from 'openid-client';
import { AirclutchError, describeThrown } from '../lib/errors.ts';
import type { CliTokenStore, StoredTokens } from './cli-token-store.ts';

export interface CliLoginOptions {
  readonly issuer: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly resource?: string | undefined;
  /** Shows the sign-in URL to the person (prints it, opens a browser, or drives a test browser). */
  readonly openBrowser: (url: string) => void | Promise<void>;
  readonly timeoutMs?: number;
}

/** Discovers a public client at the issuer (loopback http allowed for the dev IdP). */
export function publicClient(issuer: string, clientId: string): Promise<oidc.Configuration> {
  const loopbackHttp = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(issuer);
  return oidc
    .discovery(
      new URL(issuer),
      clientId,
      undefined,
      oidc.None(),
      loopbackHttp ? { execute: [oidc.allowInsecureRequests] } : undefined,
    )
    .catch((e: unknown) => {
      throw new AirclutchError(
        'IDP_UNREACHABLE',
        `discovery of ${issuer} failed: ${describeThrown(e)}; check the issuer URL (airclutch doctor)`,
        {
          cause: e,
        },
      );
    });
}

/**
 * Signs in through the browser and returns the tokens to store.
 *
 * @example
 * const tokens = await loginWithLoopback({ issuer, clientId: 'airclutch-cli', scopes: ['openid'], openBrowser: console.log });
 */
export async function loginWithLoopback(options: CliLoginOptions): Promise<StoredTokens> {
  const config = await publicClient(options.issuer, options.clientId);
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const { server, redirectUri, callback } = await loopbackReceiver(options.timeoutMs ?? 5 * 60_000);
  try {
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: options.scopes.join(' '),
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      // oidc-provider and others grant offline_access (a refresh token) only with explicit consent.
      ...(options.scopes.includes('offline_access') ? { prompt: 'consent' } : {}),
      ...(options.resource ? { resource: options.resource } : {}),
    });
    await options.openBrowser(url.href);
    const callbackUrl = await callback;
    const tokens = await oidc
      .authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: verifier, expectedState: state })
      .catch((e: unknown) => {
        throw new AirclutchError('LOGIN_FAILED', `the IdP refused the sign-in: ${describeThrown(e)}`, {
          cause: e,
        });
      });
    return toStoredTokens(options.issuer, options.clientId, tokens);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

/**
 * The stored access token, refreshed first when it expires within `refreshBeforeSec`.
 *
 * @example
 * const token = await freshAccessToken(new CliTokenStore(), 60);
 */
export async function freshAccessToken(
  store: CliTokenStore,
  refreshBeforeSec: number,
  now = Date.now(),
): Promise<StoredTokens> {
  const tokens = store.load();
  if (!tokens) throw new AirclutchError('TOKEN_MISSING', 'not signed in; run "airclutch login"');
  if (tokens.expiresAt - refreshBeforeSec * 1000 > now) return tokens;
  if (!tokens.refreshToken) {
    throw new AirclutchError(
      'TOKEN_EXPIRED',
      'the stored token has expired and there is no refresh token; run "airclutch login" again',
    );
  }
  const config = await publicClient(tokens.issuer, tokens.clientId);
  const refreshed = await oidc.refreshTokenGrant(config, tokens.refreshToken).catch((e: unknown) => {
    throw new AirclutchError(
      'TOKEN_EXPIRED',
      `refreshing the stored token failed (${describeThrown(e)}); run "airclutch login" again`,
      { cause: e },
    );
  });
  const next = {
    ...toStoredTokens(tokens.issuer, tokens.clientId, refreshed),
    refreshToken: refreshed.refresh_token ?? tokens.refreshToken,
  };
  store.save(next);
  return next;
}

/** The stored form of a token endpoint response. */
export function toStoredTokens(
  issuer: string,
  clientId: string,
  t: oidc.TokenEndpointResponse,
): StoredTokens {
  return {
    issuer,
    clientId,
    accessToken: t.access_token,
    refreshToken: t.refresh_token,
    idToken: t.id_token,
    expiresAt: Date.now() + (t.expires_in ?? 300) * 1000,
  };
}

async function loopbackReceiver(timeoutMs: number) {
  let resolve!: (u: URL) => void;
  let reject!: (e: unknown) => void;
  const callback = new Promise<URL>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    if (url.pathname !== '/callback') {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.end('Signed in to Airclutch. You can close this tab.\n');
    resolve(url);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const timer = setTimeout(
    () => reject(new AirclutchError('LOGIN_FAILED', 'sign-in timed out waiting for the browser')),
    timeoutMs,
  );
  callback.finally(() => clearTimeout(timer)).catch(() => undefined);
  const redirectUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`;
  return { server, redirectUri, callback };
}
