/**
 * Who is calling, resolved once per request before anything else runs: each route declares the
 * action it needs (`config.auth`), the bearer token is verified for that action's scopes (else the
 * session is used), and the principal is kept on the request for the rate limiter and the gate.
 * Failed token checks count against the client IP; too many and that IP gets 429s for a while.
 * @module
 */
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { RefusalRecorder } from '../audit/refusal-recorder.ts';
import type { Principal } from '../identity/principal.ts';
import type { TokenVerifier } from '../identity/token-verifier.ts';
import { AirclutchError, isAirclutchError } from '../lib/errors.ts';
import type { PolicyAction } from '../policy/cedar-names.ts';
import type { FailureLimiter } from './failure-limiter.ts';
import { requestPrincipal } from './request-principal.ts';

/**
 * `any`: any verified caller; otherwise the action whose token scopes are checked (the Airflow proxy
 * declares each operation's Cedar action, so `identity.requiredScopes` can name any of them).
 */
export type RouteAuth = 'any' | PolicyAction;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The action a route needs from its caller. Routes without it are public. */
    auth?: RouteAuth;
  }
  interface FastifyRequest {
    /** The verified caller, on routes that declare `config.auth`. */
    principal: Principal | undefined;
  }
}

const TOKEN_FAILURES = new Set([
  'TOKEN_MISSING',
  'TOKEN_EXPIRED',
  'TOKEN_NOT_YET_VALID',
  'AUDIENCE_MISMATCH',
  'ISSUER_UNTRUSTED',
  'KEY_UNKNOWN',
  'SIGNATURE_INVALID',
  'ALGORITHM_REJECTED',
  'TOKEN_MALFORMED',
  'CLAIM_MISSING',
  'PRINCIPAL_UNMAPPED',
  'PRINCIPAL_RESERVED',
  'SESSION_INVALID',
]);

/**
 * The `onRequest` hook that authenticates routes declaring `config.auth`.
 *
 * @example
 * app.addHook('onRequest', authenticate(verifier, new FailureLimiter({ max: 30, windowMs: 60_000 })));
 */
export function authenticate(
  verifier: TokenVerifier,
  failures: FailureLimiter,
  recorder?: RefusalRecorder,
): onRequestAsyncHookHandler {
  return async function authenticateRequest(req: FastifyRequest, reply: FastifyReply) {
    const auth = req.routeOptions.config.auth;
    if (!auth) return;
    const wait = failures.blockedFor(req.ip);
    if (wait > 0) {
      throw new AirclutchError(
        'RATE_LIMITED',
        `too many failed token checks from this address; try again in ${Math.ceil(wait / 1000)} s with a valid token`,
      );
    }
    try {
      req.principal = await requestPrincipal(req, verifier, auth === 'any' ? undefined : auth);
    } catch (e) {
      if (!isAirclutchError(e)) throw e;
      const challenge = bearerChallenge(e, req.headers.authorization !== undefined);
      if (challenge) reply.header('www-authenticate', challenge);
      // A missing token is a client that has not signed in yet, not an attack: it does not count.
      if (TOKEN_FAILURES.has(e.code) && e.code !== 'TOKEN_MISSING') {
        // A key the IdP published after the last JWKS fetch is refused until the cooldown ends: every
        // client with a fresh token meets it at once, so it must not lock out their shared address.
        if (e.details?.jwksCoolingDown !== true) failures.record(req.ip);
        recorder?.record({ code: e.code, ip: req.ip });
      }
      throw e;
    }
  };
}

/**
 * The RFC 6750 `WWW-Authenticate` challenge for a refused bearer token: `invalid_token` for a token
 * that failed verification or mapping, `insufficient_scope` for a missing scope, none for sessions.
 */
function bearerChallenge(e: AirclutchError, hadBearer: boolean): string | undefined {
  if (e.code === 'TOKEN_MISSING') return 'Bearer realm="airclutch"';
  if (!hadBearer) return undefined;
  if (e.code === 'SCOPE_MISSING') {
    const needed = e.details?.needed;
    const scope = Array.isArray(needed) ? needed.join(' ') : '';
    return `Bearer realm="airclutch", error="insufficient_scope", scope="${headerText(scope)}"`;
  }
  if (e.status !== 401 || !TOKEN_FAILURES.has(e.code)) return undefined;
  return `Bearer realm="airclutch", error="invalid_token", error_description="${headerText(e.message)}"`;
}

/** RFC 6750 §3: quoted values are printable ASCII without `"` and `\`; the full message is in the body. */
function headerText(text: string): string {
  const clean = text.replace(/["\\]/g, "'").replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 200 ? `${clean.slice(0, 197)}...` : clean;
}
