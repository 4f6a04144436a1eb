/** `airclutch login --device`: the device authorization grant (RFC 8628), for hosts without a browser. @module */
import * as oidc from 'openid-client';
import { AirclutchError, describeThrown } from '../lib/errors.ts';
import { publicClient, toStoredTokens } from './cli-login.ts';
import type { StoredTokens } from './cli-token-store.ts';

export interface DeviceCodePrompt {
  readonly userCode: string;
  readonly verificationUri: string;
  readonly verificationUriComplete?: string | undefined;
  readonly expiresInSec: number;
}

export interface DeviceLoginOptions {
  readonly issuer: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly resource?: string | undefined;
  /** Tells the person where to go and which code to enter. */
  readonly show: (prompt: DeviceCodePrompt) => void | Promise<void>;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Signs in with a user code entered on another device; polls the IdP at the interval it asks for.
 *
 * @example
 * const tokens = await loginWithDeviceCode({ issuer, clientId: 'airclutch-cli', scopes: ['openid'], show: console.log });
 */
export async function loginWithDeviceCode(options: DeviceLoginOptions): Promise<StoredTokens> {
  const config = await publicClient(options.issuer, options.clientId);
  if (!config.serverMetadata().device_authorization_endpoint) {
    throw new AirclutchError(
      'LOGIN_FAILED',
      `${options.issuer} does not offer the device code flow; run "airclutch login" without --device`,
    );
  }
  const response = await oidc
    .initiateDeviceAuthorization(config, {
      scope: options.scopes.join(' '),
      ...(options.resource ? { resource: options.resource } : {}),
    })
    .catch((e: unknown) => {
      throw new AirclutchError(
        'LOGIN_FAILED',
        `the IdP refused the device authorization: ${describeThrown(e)}`,
        { cause: e },
      );
    });
  await options.show({
    userCode: response.user_code,
    verificationUri: response.verification_uri,
    verificationUriComplete: response.verification_uri_complete,
    expiresInSec: response.expires_in,
  });
  const tokens = await oidc
    .pollDeviceAuthorizationGrant(
      config,
      response,
      undefined,
      options.signal ? { signal: options.signal } : undefined,
    )
    .catch((e: unknown) => {
      throw new AirclutchError('LOGIN_FAILED', `device sign-in did not complete: ${describeThrown(e)}`, {
        cause: e,
      });
    });
  return toStoredTokens(options.issuer, options.clientId, tokens);
}
