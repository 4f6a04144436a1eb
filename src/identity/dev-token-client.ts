/** Asks a running dev IdP for tokens over HTTP: a demo person's (dev-only grant) or the `ci-bot` service's. @module */
import { AirclutchError, describeThrown } from '../lib/errors.ts';
import { DEV_SERVICE_CLIENT } from './demo-users.ts';
import { DEV_IMPERSONATION_GRANT, DEV_TOKEN_CLIENT } from './dev-idp-configuration.ts';

/**
 * A signed access token for a demo person from the dev IdP at `issuer`.
 *
 * @example
 * const token = await requestDevToken('http://127.0.0.1:4455', 'eng@example.com');
 */
export function requestDevToken(
  issuer: string,
  as: string,
  options: { scope?: string; mfa?: boolean } = {},
): Promise<string> {
  return tokenRequest(issuer, DEV_TOKEN_CLIENT, {
    grant_type: DEV_IMPERSONATION_GRANT,
    subject: as,
    ...(options.scope ? { scope: options.scope } : {}),
    ...(options.mfa ? { mfa: 'true' } : {}),
  });
}

/** A client-credentials access token for the dev IdP's `ci-bot` service client (or another one it knows). */
export function requestServiceToken(
  issuer: string,
  options: { scope?: string; client?: { clientId: string; clientSecret: string } } = {},
): Promise<string> {
  return tokenRequest(issuer, options.client ?? DEV_SERVICE_CLIENT, {
    grant_type: 'client_credentials',
    scope: options.scope ?? 'airclutch:view airclutch:trigger',
  });
}

async function tokenRequest(
  issuer: string,
  client: { clientId: string; clientSecret: string },
  body: Record<string, string>,
): Promise<string> {
  const url = `${issuer}/token`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        // RFC 6749 §2.3.1: both halves form-urlencoded, so a client id with ":" survives.
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`).toString('base64')}`,
      },
      body: new URLSearchParams(body),
    });
  } catch (e) {
    throw new AirclutchError(
      'IDP_UNREACHABLE',
      `the dev IdP at ${issuer} is not answering (${describeThrown(e)}); start it with "airclutch dev idp"`,
    );
  }
  const json = (await res.json().catch(() => ({}))) as {
    access_token?: string;
    error?: string;
    error_description?: string;
  };
  if (!res.ok || !json.access_token) {
    throw new AirclutchError(
      'LOGIN_FAILED',
      `the dev IdP refused the token request: ${json.error ?? res.status} ${json.error_description ?? ''}`.trim(),
    );
  }
  return json.access_token;
}
