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
  const bytes = decodeBase64url(segment);
  if (!bytes)
    throw new AirclutchError(
      'TOKEN_MALFORMED',
      `token ${what} is not base64url-encoded JSON (invalid base64url characters)`,
    );
  let value: unknown;
  try {
    value = JSON.parse(UTF8.decode(bytes));
  } catch {
    throw new AirclutchError(
      'TOKEN_MALFORMED',
      `token ${what} is not base64url-encoded JSON (not UTF-8 JSON once decoded)`,
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new AirclutchError('TOKEN_MALFORMED', `token ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

// Invalid UTF-8 refuses the token (as jose does) instead of turning into U+FFFD.
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes base64url exactly as jose does (WHATWG forgiving-base64 over the URL alphabet): ASCII
 * whitespace is skipped, one or two "=" may close a whole group of four, and any other character
 * outside `A-Z a-z 0-9 - _` refuses the segment. Buffer's own decoder skips invalid characters
 * silently, which would let two different strings verify as one token. Undefined when invalid.
 *
 * @example
 * decodeBase64url('eyJhIjoxfQ'); // <Buffer 7b 22 61 22 3a 31 7d>
 */
export function decodeBase64url(segment: string): Buffer | undefined {
  let s = segment.replace(/[\t\n\f\r ]/g, '');
  if (s.length % 4 === 0) s = s.replace(/={1,2}$/, '');
  if (s.length % 4 === 1 || !/^[A-Za-z0-9_-]*$/.test(s)) return undefined;
  return Buffer.from(s, 'base64url');
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
  checkCritical(header);
  for (const h of KEY_HEADERS) {
    if (header[h] !== undefined) {
      throw new AirclutchError(
        'KEY_UNKNOWN',
        `token header carries "${h}", naming its own verification key; keys are taken only from the trusted issuer's JWKS`,
      );
    }
  }
}

/**
 * RFC 7515 §4.1.11 as jose applies it to JWTs: `crit` must be a non-empty list of names Airclutch
 * understands, and the only one is `b64` (RFC 7797) with the value `true`, a plain JWS. Without
 * `crit`, a `b64` member means nothing and is ignored.
 */
function checkCritical(header: Record<string, unknown>): void {
  const crit = header.crit;
  if (crit === undefined) return;
  if (
    !Array.isArray(crit) ||
    crit.length === 0 ||
    crit.some((c) => typeof c !== 'string' || c.length === 0)
  ) {
    throw new AirclutchError('TOKEN_MALFORMED', 'token header "crit" must be a non-empty list of names');
  }
  for (const name of crit as string[]) {
    if (name !== 'b64') {
      throw new AirclutchError(
        'TOKEN_MALFORMED',
        `token header marks the extension ${JSON.stringify(name)} critical, which Airclutch does not understand`,
      );
    }
  }
  if (header.b64 !== true) {
    throw new AirclutchError(
      'TOKEN_MALFORMED',
      'token header marks "b64" critical but it is not true: JWTs with an unencoded payload are refused',
    );
  }
}
