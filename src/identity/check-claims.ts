/**
 * The registered-claim checks of RFC 7519 / RFC 9068 for a signature-verified token: `exp`
 * (required), `nbf`, `iat` not in the future, `aud`, and the `typ` header, each with the issuer's
 * clock skew. The issuer was already matched exactly when its keys were chosen.
 * @module
 */
import { AirclutchError } from '../lib/errors.ts';
import { expired, notYetValid, type VerifyErrorContext } from './verify-error.ts';

/** Throws the matching identity error for the first failing claim. */
export function checkClaims(ctx: VerifyErrorContext, audiences: ReadonlySet<string>): void {
  const { payload, header, nowSec, issuer } = ctx;
  const skew = issuer.clockSkewSec;
  const { exp, nbf, iat, aud } = payload;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) {
    throw new AirclutchError(
      'CLAIM_MISSING',
      'token has no numeric "exp" claim; tokens without an expiry are refused',
    );
  }
  if (exp <= nowSec - skew) throw expired(ctx);
  if (nbf !== undefined) {
    if (typeof nbf !== 'number')
      throw new AirclutchError('TOKEN_MALFORMED', 'token "nbf" claim is not a number');
    if (nbf > nowSec + skew) throw notYetValid('nbf', nbf, ctx);
  }
  if (iat !== undefined) {
    if (typeof iat !== 'number')
      throw new AirclutchError('TOKEN_MALFORMED', 'token "iat" claim is not a number');
    if (iat > nowSec + skew) throw notYetValid('iat', iat, ctx);
  }
  if (!audienceMatches(aud, audiences)) {
    throw new AirclutchError(
      'AUDIENCE_MISMATCH',
      `token audience is ${aud === undefined ? '(missing)' : JSON.stringify(aud)} but ${issuer.issuer} tokens must be for one of ${JSON.stringify(issuer.audiences)}; request the token for that audience (resource), or add the audience to the issuer's audiences`,
      { details: { expected: issuer.audiences, received: aud } },
    );
  }
  if (issuer.typ !== undefined && normalizeTyp(header.typ) !== normalizeTyp(issuer.typ)) {
    throw new AirclutchError(
      'TOKEN_MALFORMED',
      `token type is ${JSON.stringify(header.typ ?? '(none)')} but ${issuer.issuer} must send ${JSON.stringify(issuer.typ)}; present an access token, not an ID token`,
    );
  }
}

function audienceMatches(aud: unknown, audiences: ReadonlySet<string>): boolean {
  if (typeof aud === 'string') return audiences.has(aud);
  if (Array.isArray(aud)) return aud.some((a) => typeof a === 'string' && audiences.has(a));
  return false;
}

/** `application/at+jwt` and `AT+JWT` both mean `at+jwt` (RFC 7515 §4.1.9). */
function normalizeTyp(typ: unknown): string | undefined {
  if (typeof typ !== 'string') return undefined;
  const t = typ.toLowerCase();
  return t.startsWith('application/') ? t.slice(12) : t;
}
