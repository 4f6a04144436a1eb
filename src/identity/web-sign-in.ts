/** Builds web sign-in (the session store and the relying party) from the identity config section. @module */
import type { Db } from '../store/create-db.ts';
import { devIdpIssuer, type IdentityConfig } from './identity-config.ts';
import { OidcLogin } from './oidc-login.ts';
import { DbSessionStore } from './session-store.ts';
import type { TokenVerifier } from './token-verifier.ts';

export interface WebSignIn {
  readonly login: OidcLogin;
  readonly store: DbSessionStore;
  readonly publicUrl: string;
  readonly cookieName: string;
}

/**
 * Everything `sessionPlugin` needs, from `identity.session` (the dev IdP in dev mode when no issuer is set).
 *
 * @example
 * await app.register(sessionPlugin, webSignIn(config.identity, db, verifier));
 */
export function webSignIn(identity: IdentityConfig, db: Db, verifier: TokenVerifier): WebSignIn {
  const s = identity.session;
  const issuer = s.issuer ?? (identity.mode === 'dev' ? devIdpIssuer(identity.devIdp.port) : undefined);
  if (!issuer) {
    throw new TypeError(
      'identity.session.issuer is required outside dev mode (or set AIRCLUTCH_OIDC_ISSUER)',
    );
  }
  const store = new DbSessionStore(db, s);
  const login = new OidcLogin(
    {
      issuer,
      clientId: s.clientId,
      clientSecret: s.clientSecret,
      redirectUri: new URL('/auth/callback', s.publicUrl).href,
      scopes: s.scopes,
    },
    store,
    verifier,
  );
  return { login, store, publicUrl: s.publicUrl, cookieName: s.cookieName };
}
