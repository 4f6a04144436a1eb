/** The `identity` config section: trusted issuers, claim → principal rules, scopes per action, sessions and the dev IdP. @module */
import { z } from 'zod';
import { DEMO_USERS } from './demo-users.ts';
import { reservedServiceName } from './principal.ts';

/** Signing algorithms a trusted issuer may use. Only asymmetric ones: `none` and HMAC are never accepted. */
export const ASYMMETRIC_ALGS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

/** A claim name (namespaced names such as `https://example.com/groups` are one name), or a path into nested claims. */
export const claimPathSchema = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);
export type ClaimPath = z.infer<typeof claimPathSchema>;

export const claimMappingSchema = z.strictObject({
  subject: claimPathSchema.default('sub'),
  email: claimPathSchema.default('email'),
  displayName: claimPathSchema.default('name'),
  /** `groups`, a namespaced claim, or a path such as `["realm_access", "roles"]` (Keycloak). */
  groups: claimPathSchema.default('groups'),
});

/**
 * One rule turning claims into a principal. The first rule whose `match` holds and whose `id`
 * template has every claim it names wins. Templates name claims in braces: `{email}`,
 * `gha:{repository}@{ref}`; a fixed name such as `deployer` is a template too.
 */
export const principalRuleSchema = z
  .object({
    kind: z.enum(['user', 'service']),
    /** Claim → required value (or any of several values). Empty matches every token. */
    match: z.record(z.string(), z.union([z.string(), z.array(z.string()).min(1)])).default({}),
    id: z.string().min(1),
    displayName: z.string().optional(),
  })
  .superRefine((rule, ctx) => {
    // The fixed text before the first claim: "dag:{x}" or "scheduler" can only produce engine names.
    const fixed = rule.id.split('{')[0]!;
    const why = rule.id.includes('{')
      ? fixed.toLowerCase().startsWith('dag:') && reservedServiceName(fixed)
      : reservedServiceName(rule.id);
    if (rule.kind === 'service' && why) {
      ctx.addIssue({
        code: 'custom',
        path: ['id'],
        message: `a service rule id "${rule.id}" produces Service::"${fixed}…", ${why}; choose another name`,
      });
    }
  });
export type PrincipalRule = z.infer<typeof principalRuleSchema>;

/** People are `User::"<email>"`; anything else is `Service::"<client_id or sub>"`. */
export const DEFAULT_PRINCIPAL_RULES: PrincipalRule[] = [
  { kind: 'user', match: {}, id: '{email}' },
  { kind: 'service', match: {}, id: '{client_id}' },
  { kind: 'service', match: {}, id: '{azp}' },
  { kind: 'service', match: {}, id: '{sub}' },
];

export const trustedIssuerSchema = z.strictObject({
  /** Exactly the `iss` claim value. */
  issuer: z.url(),
  /** Defaults to `<issuer>/.well-known/openid-configuration`. */
  discoveryUrl: z.url().optional(),
  /** Skips discovery when set (for IdPs that publish only a JWKS). */
  jwksUri: z.url().optional(),
  /** Accepted `aud` values: a token must carry at least one. */
  audiences: z.array(z.string().min(1)).min(1),
  algorithms: z.array(z.enum(ASYMMETRIC_ALGS)).min(1).default(['RS256', 'PS256', 'ES256', 'EdDSA']),
  claims: claimMappingSchema.default(claimMappingSchema.parse({})),
  principals: z.array(principalRuleSchema).min(1).default(DEFAULT_PRINCIPAL_RULES),
  clockSkewSec: z.number().int().min(0).max(600).default(60),
  /** Required `typ` header, such as `at+jwt` (RFC 9068). */
  typ: z.string().optional(),
  /** How long this issuer's access tokens live; used in messages and by `airclutch doctor`. */
  tokenLifetimeSec: z.number().int().positive().optional(),
  /** An unknown `kid` refetches the JWKS at most once per cooldown. */
  jwksCooldownSec: z.number().min(0).default(30),
  jwksCacheMaxAgeSec: z.number().min(1).default(600),
});
export type TrustedIssuerConfig = z.infer<typeof trustedIssuerSchema>;

export const devIdpUserSchema = z.strictObject({
  email: z.email(),
  name: z.string().min(1),
  groups: z.array(z.string()).default([]),
});
export type DevIdpUser = z.infer<typeof devIdpUserSchema>;

export const devIdpConfigSchema = z.strictObject({
  /** Start the embedded IdP in dev mode and trust it automatically. */
  enabled: z.boolean().default(true),
  port: z.number().int().min(1).max(65_535).default(4455),
  /** Audience of the JWT access tokens it issues. */
  audience: z.string().default('airclutch'),
  users: z.array(devIdpUserSchema).min(1).default(DEMO_USERS),
  accessTokenTtlSec: z.number().int().positive().default(300),
});

/** `identity.session.publicUrl` unless set: the server's default listen address. */
export const DEFAULT_SESSION_PUBLIC_URL = 'http://127.0.0.1:8080';

export const sessionConfigSchema = z.strictObject({
  /** The IdP people sign in with; defaults to the dev IdP in dev mode. */
  issuer: z.url().optional(),
  clientId: z.string().default('airclutch-web'),
  /** Confidential clients only; prefer `AIRCLUTCH_OIDC_CLIENT_SECRET`. */
  clientSecret: z.string().optional(),
  /** Public URL of the Airclutch server, for the redirect URI. */
  publicUrl: z.url().default(DEFAULT_SESSION_PUBLIC_URL),
  scopes: z.array(z.string()).default(['openid', 'email', 'profile', 'groups']),
  cookieName: z.string().default('airclutch_session'),
  lifetimeSec: z
    .number()
    .int()
    .positive()
    .default(8 * 3600),
  idleTimeoutSec: z
    .number()
    .int()
    .positive()
    .default(30 * 60),
});

export const cliLoginConfigSchema = z.strictObject({
  /** Defaults to the session issuer, then the dev IdP in dev mode. */
  issuer: z.url().optional(),
  clientId: z.string().default('airclutch-cli'),
  scopes: z.array(z.string()).default(['openid', 'email', 'profile', 'groups', 'offline_access']),
  /** The API audience requested as a resource indicator. */
  resource: z.string().optional(),
  /** Refresh this long before expiry. */
  refreshBeforeSec: z.number().int().min(0).default(60),
});

export const identityConfigSchema = z
  .object({
    /** `dev` trusts the embedded IdP; `production` refuses to start it or trust it. */
    mode: z.enum(['dev', 'production']).default('dev'),
    issuers: z.array(trustedIssuerSchema).default([]),
    /** Action → scopes a token must carry for it, e.g. `{ trigger: ['airclutch:trigger'] }`. */
    requiredScopes: z.record(z.string(), z.array(z.string().min(1))).default({}),
    /**
     * Production mode only: accept `http` issuers (and discovery/JWKS URLs). For tests that run the
     * production path against a local issuer; a loud warning is logged at start. Never in a deployment.
     */
    allowInsecureIssuers: z.boolean().default(false),
    /** Tokens above this size are refused before any parsing. */
    maxTokenBytes: z.number().int().min(1024).max(1_048_576).default(16_384),
    devIdp: devIdpConfigSchema.default(devIdpConfigSchema.parse({})),
    session: sessionConfigSchema.default(sessionConfigSchema.parse({})),
    cli: cliLoginConfigSchema.default(cliLoginConfigSchema.parse({})),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.mode === 'dev') return;
    const dev = devIdpIssuer(cfg.devIdp.port);
    const refuse = (path: (string | number)[], url: string, why: string) =>
      ctx.addIssue({ code: 'custom', path, message: `production mode refuses to trust ${url}: ${why}` });
    for (const { path, url } of issuerUrls(cfg)) {
      if (stripSlash(url) === dev) {
        refuse(
          path,
          url,
          "it is the embedded dev IdP. Trust your organisation's IdP instead, or set identity.mode: dev for local work",
        );
      } else if (!cfg.allowInsecureIssuers && new URL(url).protocol !== 'https:') {
        refuse(
          path,
          url,
          'issuers, their discovery and JWKS URLs must use https, whatever the host. Use the https URL of your IdP (tests against a local issuer: identity.allowInsecureIssuers: true)',
        );
      }
    }
  });

export type IdentityConfig = z.output<typeof identityConfigSchema>;
export type IdentityConfigInput = z.input<typeof identityConfigSchema>;

/** The issuer URL of the embedded dev IdP on the given port. */
export function devIdpIssuer(port: number): string {
  return `http://127.0.0.1:${port}`;
}

function stripSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}

/** Every URL production mode fetches keys or sign-ins from, with its config path. */
function issuerUrls(cfg: {
  issuers: readonly TrustedIssuerConfig[];
  session: { issuer?: string | undefined };
  cli: { issuer?: string | undefined };
}): { path: (string | number)[]; url: string }[] {
  const out: { path: (string | number)[]; url: string }[] = [];
  cfg.issuers.forEach((iss, i) => {
    out.push({ path: ['issuers', i, 'issuer'], url: iss.issuer });
    if (iss.discoveryUrl) out.push({ path: ['issuers', i, 'discoveryUrl'], url: iss.discoveryUrl });
    if (iss.jwksUri) out.push({ path: ['issuers', i, 'jwksUri'], url: iss.jwksUri });
  });
  if (cfg.session.issuer) out.push({ path: ['session', 'issuer'], url: cfg.session.issuer });
  if (cfg.cli.issuer) out.push({ path: ['cli', 'issuer'], url: cfg.cli.issuer });
  return out;
}

/**
 * The warning to log at start when production mode accepts `http` issuers, or undefined.
 *
 * @example
 * const warning = insecureIssuerWarning(config.identity); if (warning) log.warn(warning);
 */
export function insecureIssuerWarning(cfg: IdentityConfig): string | undefined {
  if (cfg.mode !== 'production' || !cfg.allowInsecureIssuers) return undefined;
  const http = issuerUrls(cfg)
    .map((u) => u.url)
    .filter((u) => new URL(u).protocol !== 'https:');
  return `INSECURE: identity.allowInsecureIssuers is on in production mode${http.length ? `; trusting http issuers ${http.join(', ')}` : ''}. Anyone on the network path can forge tokens for them. This switch is for tests only: remove it from any real deployment`;
}

/**
 * The issuers to trust: the configured ones, plus the dev IdP in dev mode (when enabled and not
 * already listed).
 *
 * @example
 * const issuers = effectiveIssuers(config.identity);
 */
export function effectiveIssuers(cfg: IdentityConfig): TrustedIssuerConfig[] {
  if (cfg.mode !== 'dev' || !cfg.devIdp.enabled) return cfg.issuers;
  const dev = devIdpIssuer(cfg.devIdp.port);
  if (cfg.issuers.some((i) => stripSlash(i.issuer) === dev)) return cfg.issuers;
  return [
    ...cfg.issuers,
    trustedIssuerSchema.parse({
      issuer: dev,
      audiences: [cfg.devIdp.audience],
      typ: 'at+jwt',
      tokenLifetimeSec: cfg.devIdp.accessTokenTtlSec,
    }),
  ];
}

/**
 * Environment overrides for the identity section: `AIRCLUTCH_MODE` (`dev`|`production`),
 * `AIRCLUTCH_DEV_IDP_PORT`, `AIRCLUTCH_OIDC_ISSUER`, `AIRCLUTCH_OIDC_CLIENT_ID`,
 * `AIRCLUTCH_OIDC_CLIENT_SECRET`, `AIRCLUTCH_PUBLIC_URL`. Returns a new raw section.
 */
export function applyIdentityEnv(raw: unknown, env: NodeJS.ProcessEnv): Record<string, unknown> | undefined {
  const base = (raw && typeof raw === 'object' ? raw : {}) as Record<string, any>;
  const keys = [
    'AIRCLUTCH_MODE',
    'AIRCLUTCH_DEV_IDP_PORT',
    'AIRCLUTCH_OIDC_ISSUER',
    'AIRCLUTCH_OIDC_CLIENT_ID',
    'AIRCLUTCH_OIDC_CLIENT_SECRET',
    'AIRCLUTCH_PUBLIC_URL',
  ];
  if (!raw && !keys.some((k) => env[k])) return undefined;
  const out: Record<string, any> = { ...base, devIdp: { ...base.devIdp }, session: { ...base.session } };
  if (env.AIRCLUTCH_MODE) out.mode = env.AIRCLUTCH_MODE;
  if (env.AIRCLUTCH_DEV_IDP_PORT) out.devIdp.port = Number(env.AIRCLUTCH_DEV_IDP_PORT);
  if (env.AIRCLUTCH_OIDC_ISSUER) out.session.issuer = env.AIRCLUTCH_OIDC_ISSUER;
  if (env.AIRCLUTCH_OIDC_CLIENT_ID) out.session.clientId = env.AIRCLUTCH_OIDC_CLIENT_ID;
  if (env.AIRCLUTCH_OIDC_CLIENT_SECRET) out.session.clientSecret = env.AIRCLUTCH_OIDC_CLIENT_SECRET;
  if (env.AIRCLUTCH_PUBLIC_URL) out.session.publicUrl = env.AIRCLUTCH_PUBLIC_URL;
  return out;
}

/** The IdP `airclutch login` uses: `cli.issuer`, then `session.issuer`, then the dev IdP in dev mode. */
export function cliIssuer(cfg: IdentityConfig): string | undefined {
  if (cfg.cli.issuer) return cfg.cli.issuer;
  if (cfg.session.issuer) return cfg.session.issuer;
  return cfg.mode === 'dev' && cfg.devIdp.enabled ? devIdpIssuer(cfg.devIdp.port) : undefined;
}
