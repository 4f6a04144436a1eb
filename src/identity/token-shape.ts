/**
 * Cheap structural checks before any cryptography: size, compact JWS shape, and the header fields
 * that are always refused (`alg: none`, HMAC, keys named or embedded by the token itself).
 * @module
 */
import { Buffer } from 'node:buffer';
import { AirclutchError } from '../lib/errors.ts';

export interface TokenShape {
  readonly header: Readonly<Record<string, unknown>>;
  readonly payload: Readonly<Record<string, unknown>>;
}

const KEY_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'] as const;

/**
 * Splits and decodes a compact JWS, refusing oversized, malformed and dangerous tokens.
 *
 * @example
 * const { header, payload } = inspectToken(bearer, 16_384);
 */
export function inspectToken(token: string, maxBytes: number): TokenShape {
  if (typeof token !== 'string' || token.length === 0) {
    throw new AirclutchError('TOKEN_MALFORMED', 'token is empty; send it as "Authorization: Bearer <token>"');
  }
  if (token.length > maxBytes) {
    throw new AirclutchError(
      'TOKEN_MALFORMED',
      `token is ${token.length} bytes, above the ${maxBytes}-byte limit (identity.maxTokenBytes); ask the IdP for fewer claims (for example, groups by reference)`,
    );
  }
  const dot1 = token.indexOf('.');
  const dot2 = dot1 < 0 ? -1 : token.indexOf('.', dot1 + 1);
  if (dot1 < 0 || dot2 < 0 || token.indexOf('.', dot2 + 1) >= 0) {
    throw new AirclutchError(
      'TOKEN_MALFORMED',
      'token is not a signed JWT (expected three dot-separated parts); encrypted or opaque tokens are not accepted',
    );
  }
  const header = decodeSegment(token.slice(0, dot1), 'header');
  const payload = decodeSegment(token.slice(dot1 + 1, dot2), 'payload');
  checkHeader(header);
  return { header, payload };
}

function decodeSegment(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw new AirclutchError('TOKEN_MALFORMED', `token ${what} is not base64url-encoded JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new AirclutchError('TOKEN_MALFORMED', `token ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function checkHeader(header: Record<string, unknown>): void {
  const alg = header.alg;
  if (typeof alg !== 'string' || alg.length === 0) {
    throw new AirclutchError('TOKEN_MALFORMED', 'token header has no "alg"');
  }
  if (alg.toLowerCase() === 'none') {
    throw new AirclutchError(
      'ALGORITHM_REJECTED',
      'token is unsigned (alg "none"); only signed tokens are accepted',
    );
  }
  if (alg.startsWith('HS')) {
    throw new AirclutchError(
      'ALGORITHM_REJECTED',
      `token uses the symmetric algorithm ${alg}; only asymmetric algorithms (RS256, ES256, …) verified against the issuer's JWKS are accepted`,
    );
  }
  if (header.crit !== undefined || header.b64 !== undefined) {
    throw new AirclutchError(
      'TOKEN_MALFORMED',
      'token header has critical extensions ("crit"/"b64") that Airclutch does not understand',
    );
  }
  for (const h of KEY_HEADERS) {
    if (header[h] !== undefined) {
      throw new AirclutchError(
        'KEY_UNKNOWN',
        `token header carries "${h}", naming its own verification key; keys are taken only from the trusted issuer's JWKS`,
      );
    }
  }
}
