/**
 * The seam between a presented token and a `Principal`. `OidcTokenVerifier` is the default
 * implementation; tests swap in another real IdP, never a mock.
 * @module
 */
import type { Principal } from './principal.ts';

export interface VerifyOptions {
  /** The action being attempted (`trigger`, `approve`, …): its scopes from `identity.requiredScopes` are checked. */
  readonly action?: string;
  /** Scopes required on top of the action's. */
  readonly requiredScopes?: readonly string[];
}

/**
 * Verifies a bearer token and maps its claims to a principal. Every refusal is an `AirclutchError`
 * with a stable code (`TOKEN_EXPIRED`, `AUDIENCE_MISMATCH`, …) and a message that never contains the token.
 *
 * @example
 * const principal = await verifier.verify(bearer, { action: 'trigger' });
 */
export interface TokenVerifier {
  verify(token: string, options?: VerifyOptions): Promise<Principal>;
}
