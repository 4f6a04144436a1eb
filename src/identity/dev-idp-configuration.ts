/**
 * The oidc-provider configuration of the embedded dev IdP: demo accounts, first-party clients,
 * JWT access tokens for the Airclutch audience, and the dev-only impersonation grant behind
 * `airclutch dev token --as USER`.
 * @module
 */
import { DEV_SERVICE_CLIENT } from './demo-users.ts';
import { DEV_AMR, DEV_INTERACTION_PATH } from './dev-idp-interactions.ts';
import type { DevIdpKeys } from './dev-idp-keys.ts';
import type { DevIdpUser } from './identity-config.ts';

/** The grant type `airclutch dev token` uses; registered only on the dev IdP. */
export const DEV_IMPERSONATION_GRANT = 'urn:airclutch:params:oauth:grant-type:dev-impersonation';

/** Marks a dev token minted with `mfa=true`: its `amr` then names a second factor. */
export const DEV_MFA = Symbol('airclutch dev mfa');
/** The client allowed to use it. Its secret is public on purpose: the dev IdP never runs outside dev mode. */
export const DEV_TOKEN_CLIENT = { clientId: 'airclutch-dev', clientSecret: 'airclutch-dev-secret' } as const;
/** The resource indicator (RFC 8707) for the Airclutch API; its tokens carry the configured audience. */
export const AIRCLUTCH_RESOURCE = 'urn:airclutch:api';
/** Scopes the Airclutch API (the resource server) knows. */
export const AIRCLUTCH_API_SCOPES = [
  'airclutch:view',
  'airclutch:trigger',
  'airclutch:approve',
  'airclutch:cancel',
  'airclutch:admin',
];

export interface DevIdpSettings {
  readonly users: readonly DevIdpUser[];
  readonly audience: string;
  readonly accessTokenTtlSec: number;
  /** Extra redirect URIs for `airclutch-web`, beyond any loopback port. */
  readonly webRedirectUris?: readonly string[];
  /** More client-credentials clients beside `ci-bot` (tests of how service names map). */
  readonly serviceClients?: readonly { readonly clientId: string; readonly clientSecret: string }[];
}

type Ctx = any;

/** Builds the configuration object passed to `new Provider(issuer, configuration)`. */
export function devIdpConfiguration(settings: DevIdpSettings, keys: DevIdpKeys): Record<string, unknown> {
  const byId = new Map(settings.users.map((u) => [u.email, u]));
  const apiScope = AIRCLUTCH_API_SCOPES.join(' ');
  const resourceServer = resourceServerInfo(settings);
  const loopback = ['http://127.0.0.1/auth/callback', 'http://localhost/auth/callback'];
  return {
    jwks: keys.jwks,
    cookies: { keys: keys.cookieKeys },
    clients: [
      {
        // Native, so any loopback port is accepted (RFC 8252 §7.3): dev servers and tests pick free ports.
        client_id: 'airclutch-web',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        redirect_uris: [...loopback, ...(settings.webRedirectUris ?? [])],
        post_logout_redirect_uris: ['http://127.0.0.1/', 'http://localhost/'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
      {
        client_id: 'airclutch-cli',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        redirect_uris: ['http://127.0.0.1/callback'],
        grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
        response_types: ['code'],
      },
      ...[DEV_SERVICE_CLIENT, ...(settings.serviceClients ?? [])].map((c) => ({
        client_id: c.clientId,
        client_secret: c.clientSecret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        scope: apiScope,
      })),
      {
        client_id: DEV_TOKEN_CLIENT.clientId,
        client_secret: DEV_TOKEN_CLIENT.clientSecret,
        grant_types: [DEV_IMPERSONATION_GRANT],
        response_types: [],
        redirect_uris: [],
      },
    ],
    scopes: ['openid', 'offline_access', 'email', 'profile', 'groups', ...AIRCLUTCH_API_SCOPES],
    // `amr` with `openid`: the ID token always says how the person signed in (second factor or not).
    claims: {
      openid: ['sub', 'amr'],
      email: ['email', 'email_verified'],
      profile: ['name'],
      groups: ['groups'],
    },
    findAccount: (_ctx: Ctx, sub: string) => {
      const user = byId.get(sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        claims: async () => ({
          sub,
          email: user.email,
          email_verified: true,
          name: user.name,
          groups: user.groups,
        }),
      };
    },
    extraTokenClaims: (ctx: Ctx, token: { accountId?: string; [DEV_MFA]?: boolean }) => {
      const user = token.accountId ? byId.get(token.accountId) : undefined;
      if (!user) return undefined;
      const claims = { email: user.email, name: user.name, groups: user.groups };
      if (token[DEV_MFA]) return { ...claims, amr: [...DEV_AMR.mfa] };
      // A browser sign-in: the methods the person used, from the code (or refresh token) it came from.
      const amr = signInAmr(ctx);
      return amr ? { ...claims, amr } : claims;
    },
    // First-party clients: no consent screen, every requested scope granted.
    loadExistingGrant: async (ctx: Ctx) => {
      const { provider, client, session, params, result } = ctx.oidc;
      const grantId = result?.consent?.grantId ?? session.grantIdFor(client.clientId);
      if (grantId) return provider.Grant.find(grantId);
      const grant = new provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope(String(params.scope ?? 'openid'));
      grant.addResourceScope(AIRCLUTCH_RESOURCE, apiScope);
      await grant.save();
      return grant;
    },
    // Our own sign-in pages (src/identity/dev-idp-interactions.ts): they add the second-factor choice.
    interactions: {
      url: (_ctx: Ctx, interaction: { uid: string }) => `${DEV_INTERACTION_PATH}${interaction.uid}`,
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      deviceFlow: { enabled: true },
      rpInitiatedLogout: { enabled: true, logoutSource: autoSubmitLogout },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => AIRCLUTCH_RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => resourceServer,
      },
    },
    ttl: {
      AccessToken: settings.accessTokenTtlSec,
      ClientCredentials: settings.accessTokenTtlSec,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 600,
      Session: 86_400,
      Grant: 86_400,
      RefreshToken: 86_400,
    },
    pkce: { required: () => true },
  };
}

/** The `amr` of the sign-in an access token comes from (authorization code, refresh token or device code). */
function signInAmr(ctx: Ctx): string[] | undefined {
  const entities = ctx?.oidc?.entities ?? {};
  const source = entities.AuthorizationCode ?? entities.RefreshToken ?? entities.DeviceCode;
  return Array.isArray(source?.amr) ? [...source.amr] : undefined;
}

/** The Airclutch API as oidc-provider's resource server: JWT access tokens (RFC 9068) signed RS256. */
export function resourceServerInfo(settings: Pick<DevIdpSettings, 'audience' | 'accessTokenTtlSec'>) {
  return {
    scope: AIRCLUTCH_API_SCOPES.join(' '),
    audience: settings.audience,
    accessTokenFormat: 'jwt',
    accessTokenTTL: settings.accessTokenTtlSec,
    jwt: { sign: { alg: 'RS256' } },
  };
}

// The logout confirmation page submits itself: the dev IdP has nothing to confirm.
async function autoSubmitLogout(ctx: Ctx, form: string): Promise<void> {
  ctx.body = `<!DOCTYPE html><html><body>${form.replace('</form>', '<input type="hidden" name="logout" value="yes"/></form>')}<script>document.forms[0].submit()</script></body></html>`;
}
