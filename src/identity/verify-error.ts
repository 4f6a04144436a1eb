/**
 * Maps jose's errors (from the JWKS) and failed checks to Airclutch's stable identity codes, with messages that say what to fix.
 * Messages name claims, issuers and times, never the token.
 * @module
 */
import { errors } from 'jose';
import { AirclutchError, describeThrown } from '../lib/errors.ts';
import { formatDuration, formatInstant } from './format-duration.ts';
import type { TrustedIssuerConfig } from './identity-config.ts';

export interface VerifyErrorContext {
  readonly issuer: TrustedIssuerConfig;
  readonly header: Readonly<Record<string, unknown>>;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly nowSec: number;
}

/**
 * Turns anything jose (or the JWKS fetch) threw into an `AirclutchError`.
 *
 * @example
 * try { await jwtVerify(...) } catch (e) { throw toVerifyError(e, ctx) }
 */
export function toVerifyError(
  e: unknown,
  ctx: VerifyErrorContext,
  lookup: { readonly jwksCoolingDown?: boolean } = {},
): AirclutchError {
  if (e instanceof AirclutchError) return e;
  const iss = ctx.issuer.issuer;
  if (e instanceof errors.JWSSignatureVerificationFailed) return signatureInvalid(ctx);
  if (e instanceof errors.JWKSNoMatchingKey && lookup.jwksCoolingDown) {
    // Marked so the HTTP failure limiter does not lock out an address for the IdP's key rotation.
    return new AirclutchError(
      'KEY_UNKNOWN',
      `${iss}'s JWKS has no key for kid ${JSON.stringify(ctx.header.kid ?? '(none)')} and alg ${String(ctx.header.alg)} yet; it was fetched less than ${ctx.issuer.jwksCooldownSec}s ago, so a key the IdP just rotated in is picked up within ${ctx.issuer.jwksCooldownSec}s: retry then`,
      { details: { jwksCoolingDown: true } },
    );
  }
  if (e instanceof errors.JWKSNoMatchingKey || e instanceof errors.JWKSMultipleMatchingKeys) {
    return new AirclutchError(
      'KEY_UNKNOWN',
      `${iss}'s JWKS has no single key for kid ${JSON.stringify(ctx.header.kid ?? '(none)')} and alg ${String(ctx.header.alg)}; if the IdP just rotated keys, the JWKS is refetched at most every ${ctx.issuer.jwksCooldownSec}s`,
    );
  }
  if (e instanceof errors.JOSEAlgNotAllowed) return algRejected(ctx);
  if (e instanceof errors.JWKSTimeout || e instanceof errors.JWKSInvalid || isFetchFailure(e)) {
    return new AirclutchError(
      'IDP_UNREACHABLE',
      `could not load the signing keys of ${iss}: ${describeThrown(e)}; check the network path and run "airclutch doctor"`,
      { cause: e },
    );
  }
  if (e instanceof errors.JOSEError) {
    return new AirclutchError('TOKEN_MALFORMED', `token is malformed: ${e.message}`, { cause: e });
  }
  return new AirclutchError('INTERNAL', `token verification failed unexpectedly: ${describeThrown(e)}`, {
    cause: e,
  });
}

function isFetchFailure(e: unknown): boolean {
  return e instanceof TypeError && /fetch/i.test(e.message);
}

/** `SIGNATURE_INVALID`: the token was altered, or signed by someone else under the issuer's name. */
export function signatureInvalid(ctx: Pick<VerifyErrorContext, 'issuer' | 'header'>): AirclutchError {
  return new AirclutchError(
    'SIGNATURE_INVALID',
    `token signature does not verify against ${ctx.issuer.issuer}'s key ${JSON.stringify(ctx.header.kid ?? '(no kid)')}: it was altered or forged; get a new token from the IdP`,
  );
}

/** The `ALGORITHM_REJECTED` error for a header alg outside the issuer's allow-list. */
export function algRejected(ctx: Pick<VerifyErrorContext, 'issuer' | 'header'>): AirclutchError {
  return new AirclutchError(
    'ALGORITHM_REJECTED',
    `token uses ${String(ctx.header.alg)}, which ${ctx.issuer.issuer} is not allowed to use (allowed: ${ctx.issuer.algorithms.join(', ')}); add it to the issuer's algorithms if the IdP really signs with it`,
  );
}

/** `expired 3m12s ago at 10:41:07Z; this issuer's tokens live 5m`. */
export function expired(ctx: VerifyErrorContext): AirclutchError {
  const exp = Number(ctx.payload.exp);
  const iat = typeof ctx.payload.iat === 'number' ? ctx.payload.iat : undefined;
  const life = ctx.issuer.tokenLifetimeSec ?? (iat !== undefined ? exp - iat : undefined);
  const lives = life !== undefined ? `; this issuer's tokens live ${formatDuration(life)}` : '';
  return new AirclutchError(
    'TOKEN_EXPIRED',
    `token expired ${formatDuration(ctx.nowSec - exp)} ago at ${formatInstant(exp, ctx.nowSec)}${lives}; get a fresh one (airclutch login, or your client's token refresh)`,
    { details: { expiredAt: exp, now: ctx.nowSec, lifetimeSec: life } },
  );
}

/** `TOKEN_NOT_YET_VALID` for an `nbf` or `iat` beyond the allowed clock skew. */
export function notYetValid(claim: 'nbf' | 'iat', at: number, ctx: VerifyErrorContext): AirclutchError {
  const what = claim === 'nbf' ? 'is not valid until' : 'claims to be issued at';
  return new AirclutchError(
    'TOKEN_NOT_YET_VALID',
    `token ${what} ${formatInstant(at, ctx.nowSec)}, ${formatDuration(at - ctx.nowSec)} in the future (allowed clock skew ${ctx.issuer.clockSkewSec}s); check this host's clock against ${ctx.issuer.issuer} (airclutch doctor)`,
  );
}
