/**
 * Who is calling: the bearer token's principal (verified, with the action's scopes), else the
 * signed-in session's. The HTTP routes call this before the gate; they never read tokens themselves.
 * @module
 */
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../identity/principal.ts';
import type { TokenVerifier } from '../identity/token-verifier.ts';
import { AirclutchError } from '../lib/errors.ts';

/**
 * Resolves the caller of a request for an action.
 *
 * @example
 * const principal = await requestPrincipal(req, verifier, 'trigger');
 */
export async function requestPrincipal(
  req: FastifyRequest,
  verifier: TokenVerifier,
  action?: string,
): Promise<Principal> {
  const auth = req.headers.authorization;
  if (auth !== undefined) {
    const m = /^Bearer +(\S+)$/i.exec(auth);
    if (!m) throw new AirclutchError('TOKEN_MALFORMED', 'the Authorization header must be "Bearer <token>"');
    return verifier.verify(m[1]!, action ? { action } : undefined);
  }
  const session = (req as { session?: { principal: Principal } }).session;
  if (session) return session.principal;
  throw new AirclutchError(
    'TOKEN_MISSING',
    'no token was presented: send "Authorization: Bearer <token>" (airclutch login, or a client-credentials token), or sign in at /auth/login',
  );
}
