/** OpenID Connect discovery: the issuer's metadata document and, from it, its JWKS URI. @module */
import { AirclutchError, describeThrown } from '../lib/errors.ts';
import type { TrustedIssuerConfig } from './identity-config.ts';

export interface IssuerMetadata {
  readonly issuer: string;
  readonly jwks_uri: string;
  readonly [key: string]: unknown;
}

/** `<issuer>/.well-known/openid-configuration`, or the configured discovery URL. */
export function discoveryUrlOf(cfg: Pick<TrustedIssuerConfig, 'issuer' | 'discoveryUrl'>): string {
  if (cfg.discoveryUrl) return cfg.discoveryUrl;
  return `${cfg.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
}

/**
 * Fetches and checks the discovery document: it must name the same issuer and a JWKS URI.
 *
 * @example
 * const { jwks_uri } = await discoverIssuer({ issuer: 'https://idp.example.com' });
 */
export async function discoverIssuer(
  cfg: Pick<TrustedIssuerConfig, 'issuer' | 'discoveryUrl'>,
  timeoutMs = 5000,
): Promise<IssuerMetadata> {
  const url = discoveryUrlOf(cfg);
  let res: Response;
  try {
    res = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      headers: { accept: 'application/json' },
    });
  } catch (e) {
    throw new AirclutchError(
      'IDP_UNREACHABLE',
      `discovery at ${url} failed: ${describeThrown(e)}; is the IdP up and reachable from here?`,
      {
        cause: e,
      },
    );
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new AirclutchError(
      'IDP_UNREACHABLE',
      `discovery at ${url} answered HTTP ${res.status}; check the issuer URL or set discoveryUrl`,
    );
  }
  const doc = (await res.json().catch(() => null)) as Partial<IssuerMetadata> | null;
  if (!doc || typeof doc.jwks_uri !== 'string') {
    throw new AirclutchError(
      'IDP_UNREACHABLE',
      `discovery at ${url} has no jwks_uri; set jwksUri on the issuer`,
    );
  }
  if (doc.issuer !== cfg.issuer) {
    throw new AirclutchError(
      'ISSUER_UNTRUSTED',
      `discovery at ${url} names issuer ${JSON.stringify(doc.issuer)}, not the configured ${JSON.stringify(cfg.issuer)}; copy the issuer exactly (trailing slash included)`,
    );
  }
  return doc as IssuerMetadata;
}
