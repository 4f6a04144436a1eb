/**
 * The authorization code flow with PKCE for people signing in to Airclutch, through openid-client.
 * The access token it receives is checked by the same `TokenVerifier` as every API call, so a
 * session's principal is mapped exactly like a bearer token's.
 * @module
 */
import * as oidc from 'openid-client';
import { AirclutchError, describeThrown } from '../lib/errors.ts';
import { localReturnPath } from './local-return-path.ts';
import type { Principal } from './principal.ts';
import type { PrincipalMapper } from './principal-mapper.ts';
import type { LoginAttempt, SessionStore } from './session-store.ts';
import type { TokenVerifier } from './token-verifier.ts';

export interface OidcLoginOptions {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret?: string | undefined;
  readonly redirectUri: string;
  readonly scopes: readonly string[];
  /** Requested as a resource indicator (RFC 8707) where the IdP supports it. */
  readonly resource?: string | undefined;
  /**
   * When set, the principal comes from the validated ID token merged with userinfo, mapped by this
   * issuer's rules: for IdPs whose access tokens are opaque (Google) or meant for another API.
   * Otherwise the access token goes through the `TokenVerifier`.
   */
  readonly idTokenMapper?: PrincipalMapper | undefined;
}

const LOGIN_MAX_AGE_MS = 10 * 60 * 1000;

/**
 * One relying party: begins sign-ins, completes them, and builds logout URLs.
 *
 * @example
 * const login = new OidcLogin({ issuer, clientId: 'airclutch-web', redirectUri, scopes: ['openid'] }, store, verifier);
 * reply.redirect(await login.begin('/runs', Date.now()));
 */
export class OidcLogin {
  #config: Promise<oidc.Configuration> | undefined;

  constructor(
    private readonly options: OidcLoginOptions,
    private readonly store: SessionStore,
    private readonly verifier: TokenVerifier,
  ) {}

  /** The IdP authorization URL for a new sign-in; a `returnTo` that is not a local path becomes `/`. */
  async begin(returnTo: string, now: number): Promise<{ url: string; state: string }> {
    const config = await this.#configuration();
    const attempt: LoginAttempt = {
      state: oidc.randomState(),
      codeVerifier: oidc.randomPKCECodeVerifier(),
      nonce: oidc.randomNonce(),
      // The redirect URI is on this server's public URL, so its origin is the one to stay on.
      returnTo: localReturnPath(returnTo, this.options.redirectUri),
    };
    await this.store.saveLogin(attempt, now);
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.options.redirectUri,
      scope: this.options.scopes.join(' '),
      code_challenge: await oidc.calculatePKCECodeChallenge(attempt.codeVerifier),
      code_challenge_method: 'S256',
      state: attempt.state,
      nonce: attempt.nonce,
      ...(this.options.resource ? { resource: this.options.resource } : {}),
    });
    return { url: url.href, state: attempt.state };
  }

  /** Exchanges the code on the callback URL; returns who signed in. */
  async complete(
    callbackUrl: URL,
    expectedState: string | undefined,
    now: number,
  ): Promise<{ principal: Principal; idToken: string | undefined; returnTo: string }> {
    const state = callbackUrl.searchParams.get('state');
    if (!state || !expectedState || state !== expectedState) {
      throw new AirclutchError(
        'LOGIN_FAILED',
        'sign-in state does not match this browser; start again from /auth/login',
      );
    }
    const attempt = await this.store.takeLogin(state, now, LOGIN_MAX_AGE_MS);
    if (!attempt)
      throw new AirclutchError(
        'LOGIN_FAILED',
        'sign-in expired or was already used; start again from /auth/login',
      );
    const config = await this.#configuration();
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: attempt.codeVerifier,
        expectedState: attempt.state,
        expectedNonce: attempt.nonce,
        idTokenExpected: true,
      });
    } catch (e) {
      throw new AirclutchError('LOGIN_FAILED', `the IdP refused the sign-in: ${describeThrown(e)}`, {
        cause: e,
      });
    }
    const principal = this.options.idTokenMapper
      ? await this.#fromIdToken(config, tokens, this.options.idTokenMapper)
      : await this.verifier.verify(tokens.access_token);
    return { principal, idToken: tokens.id_token, returnTo: attempt.returnTo };
  }

  /** RP-initiated logout at the IdP, when it advertises an end-session endpoint. */
  async logoutUrl(idToken: string | undefined, postLogoutRedirectUri: string): Promise<string | undefined> {
    const config = await this.#configuration();
    if (!config.serverMetadata().end_session_endpoint) return undefined;
    return oidc.buildEndSessionUrl(config, {
      post_logout_redirect_uri: postLogoutRedirectUri,
      client_id: this.options.clientId,
      ...(idToken ? { id_token_hint: idToken } : {}),
    }).href;
  }

  async #fromIdToken(
    config: oidc.Configuration,
    tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers,
    mapper: PrincipalMapper,
  ): Promise<Principal> {
    const claims = tokens.claims();
    if (!claims)
      throw new AirclutchError('LOGIN_FAILED', 'the IdP returned no ID token; request the openid scope');
    // Userinfo adds what the ID token left out; an access token bound to another resource cannot read it.
    const info = config.serverMetadata().userinfo_endpoint
      ? await oidc.fetchUserInfo(config, tokens.access_token, claims.sub).catch(() => ({}))
      : {};
    return mapper.map({ ...info, ...claims });
  }

  #configuration(): Promise<oidc.Configuration> {
    this.#config ??= this.#discover().catch((e: unknown) => {
      this.#config = undefined;
      throw e;
    });
    return this.#config;
  }

  async #discover(): Promise<oidc.Configuration> {
    const { issuer, clientId, clientSecret } = this.options;
    const loopbackHttp = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(issuer);
    try {
      return await oidc.discovery(
        new URL(issuer),
        clientId,
        clientSecret,
        clientSecret ? oidc.ClientSecretBasic(clientSecret) : oidc.None(),
        loopbackHttp ? { execute: [oidc.allowInsecureRequests] } : undefined,
      );
    } catch (e) {
      throw new AirclutchError(
        'IDP_UNREACHABLE',
        `discovery of ${issuer} for sign-in failed: ${describeThrown(e)}`,
        { cause: e },
      );
    }
  }
}
