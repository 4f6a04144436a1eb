/**
 * The default `TokenVerifier`: each trusted issuer's JWKS found through discovery and cached by jose,
 * signatures checked synchronously with node:crypto (see jws-signature.ts for why), then the claims.
 * Issuer lookups, allow-lists, principal rules and jose options are computed once at construction,
 * so a warm verify is one signature check plus a few map reads.
 * @module
 */
import type { webcrypto } from 'node:crypto';
import {
  type CompactJWSHeaderParameters,
  createRemoteJWKSet,
  type FlattenedJWSInput,
  type JWTVerifyGetKey,
} from 'jose';
import { AirclutchError } from '../lib/errors.ts';
import { checkClaims } from './check-claims.ts';
import { effectiveIssuers, type IdentityConfig, type TrustedIssuerConfig } from './identity-config.ts';
import { discoverIssuer } from './issuer-discovery.ts';
import { preparedKey, verifySignature } from './jws-signature.ts';
import type { Principal } from './principal.ts';
import { PrincipalMapper, scopesOf } from './principal-mapper.ts';
import { inspectToken } from './token-shape.ts';
import type { TokenVerifier, VerifyOptions } from './token-verifier.ts';
import { algRejected, signatureInvalid, toVerifyError } from './verify-error.ts';

export interface OidcTokenVerifierOptions {
  readonly issuers: readonly TrustedIssuerConfig[];
  /** Action → scopes a token must carry for it. */
  readonly requiredScopes?: Readonly<Record<string, readonly string[]>>;
  readonly maxTokenBytes?: number;
  /** The clock, in epoch ms. Inject one in tests instead of sleeping. */
  readonly now?: () => number;
}

interface IssuerState {
  readonly cfg: TrustedIssuerConfig;
  readonly mapper: PrincipalMapper;
  readonly algorithms: ReadonlySet<string>;
  readonly audiences: ReadonlySet<string>;
  keys: JWTVerifyGetKey | undefined;
  loading: Promise<JWTVerifyGetKey> | undefined;
}

const NO_SCOPES: readonly string[] = [];
// jose's JWKS lookup reads only the protected header; the flattened token is for its embedded-header case.
const NO_TOKEN = undefined as unknown as FlattenedJWSInput;

/**
 * Verifies bearer tokens from the configured issuers.
 *
 * @example
 * const verifier = OidcTokenVerifier.fromConfig(config.identity);
 * const principal = await verifier.verify(token, { action: 'trigger' });
 */
/**
 * A token whose signature verified is remembered briefly, so a client sending the same token with
 * every request pays for the signature once. Expiry, not-before and scopes are checked on every use;
 * a key removed from the JWKS stops counting within this window.
 */
const VERIFIED_CACHE_MS = 30_000;
const VERIFIED_CACHE_MAX = 10_000;

interface VerifiedToken {
  readonly state: IssuerState;
  readonly header: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
  readonly principal: Principal;
  readonly until: number;
}

export class OidcTokenVerifier implements TokenVerifier {
  readonly #verified = new Map<string, VerifiedToken>();
  readonly #issuers = new Map<string, IssuerState>();
  readonly #requiredScopes: ReadonlyMap<string, readonly string[]>;
  readonly #maxTokenBytes: number;
  readonly #now: (() => number) | undefined;

  constructor(options: OidcTokenVerifierOptions) {
    if (options.issuers.length === 0) {
      throw new TypeError('OidcTokenVerifier needs at least one trusted issuer (identity.issuers)');
    }
    for (const cfg of options.issuers) {
      this.#issuers.set(cfg.issuer, {
        cfg,
        mapper: new PrincipalMapper(cfg),
        algorithms: new Set(cfg.algorithms),
        audiences: new Set(cfg.audiences),
        keys: undefined,
        loading: undefined,
      });
    }
    this.#requiredScopes = new Map(Object.entries(options.requiredScopes ?? {}));
    this.#maxTokenBytes = options.maxTokenBytes ?? 16_384;
    this.#now = options.now;
  }

  /** A verifier for the identity config section (the dev IdP included in dev mode). */
  static fromConfig(
    identity: IdentityConfig,
    extra: Pick<OidcTokenVerifierOptions, 'now'> = {},
  ): OidcTokenVerifier {
    return new OidcTokenVerifier({
      issuers: effectiveIssuers(identity),
      requiredScopes: identity.requiredScopes,
      maxTokenBytes: identity.maxTokenBytes,
      ...extra,
    });
  }

  /** Loads discovery and the JWKS of every issuer now, so the first request does not pay for it. */
  async warm(): Promise<void> {
    await Promise.all(
      [...this.#issuers.values()].map(async (s) => {
        const keys = await this.#keysOf(s);
        await (keys as unknown as { reload?: () => Promise<void> }).reload?.();
      }),
    );
  }

  async verify(token: string, options?: VerifyOptions): Promise<Principal> {
    const nowMs = this.#now?.() ?? Date.now();
    const nowSec = Math.floor(nowMs / 1000);
    const hit = this.#verified.get(token);
    if (hit && hit.until > nowMs) {
      // The signature was checked moments ago; the time-bound claims and scopes are checked again.
      checkClaims(
        { issuer: hit.state.cfg, header: hit.header, payload: hit.payload, nowSec },
        hit.state.audiences,
      );
      this.#checkScopes(hit.payload, options);
      return hit.principal;
    }
    const { header, payload } = inspectToken(token, this.#maxTokenBytes);
    const state = this.#issuerOf(payload.iss);
    const alg = header.alg as string;
    if (!state.algorithms.has(alg)) throw algRejected({ issuer: state.cfg, header });
    const ctx = { issuer: state.cfg, header, payload, nowSec };
    let key: webcrypto.CryptoKey;
    // Read before the lookup: a lookup outside the cooldown refetches, and the cooldown starts again.
    let jwksCoolingDown = false;
    try {
      const keys = state.keys ?? (await this.#keysOf(state));
      jwksCoolingDown = (keys as { coolingDown?: boolean }).coolingDown === true;
      key = (await keys(header as CompactJWSHeaderParameters, NO_TOKEN)) as webcrypto.CryptoKey;
    } catch (e) {
      throw toVerifyError(e, ctx, { jwksCoolingDown });
    }
    // Signature first: a forged token learns nothing from claim checks.
    if (!verifySignature(token, alg, preparedKey(key, alg))) throw signatureInvalid(ctx);
    checkClaims(ctx, state.audiences);
    this.#checkScopes(payload, options);
    const principal = state.mapper.map(payload);
    this.#remember(token, { state, header, payload, principal, until: nowMs + VERIFIED_CACHE_MS });
    return principal;
  }

  #remember(token: string, entry: VerifiedToken): void {
    if (this.#verified.size >= VERIFIED_CACHE_MAX) {
      // Oldest first: Map iteration follows insertion order.
      this.#verified.delete(this.#verified.keys().next().value!);
    }
    this.#verified.set(token, entry);
  }

  #issuerOf(iss: unknown): IssuerState {
    const state = typeof iss === 'string' ? this.#issuers.get(iss) : undefined;
    if (state) return state;
    const trusted = [...this.#issuers.keys()];
    const near =
      typeof iss === 'string'
        ? trusted.find((t) => t.replace(/\/$/, '') === iss.replace(/\/$/, ''))
        : undefined;
    const hint = near
      ? `; did you mean ${JSON.stringify(near)}? issuers must match exactly, trailing slash included`
      : '';
    throw new AirclutchError(
      'ISSUER_UNTRUSTED',
      `token issuer ${typeof iss === 'string' ? JSON.stringify(iss) : '(missing)'} is not trusted (trusted: ${trusted.join(', ')})${hint}; add it under identity.issuers to trust it`,
    );
  }

  #checkScopes(claims: Record<string, unknown>, options: VerifyOptions | undefined): void {
    if (!options) return;
    const forAction = options.action ? (this.#requiredScopes.get(options.action) ?? NO_SCOPES) : NO_SCOPES;
    const extra = options.requiredScopes ?? NO_SCOPES;
    if (forAction.length === 0 && extra.length === 0) return;
    const granted = scopesOf(claims);
    const missing = [...forAction, ...extra].filter((s) => !granted.includes(s));
    if (missing.length === 0) return;
    throw new AirclutchError(
      'SCOPE_MISSING',
      `token lacks scope ${missing.join(' ')}${options.action ? ` needed to ${options.action}` : ''}; it was granted [${granted.join(' ')}]. Request the token with scope "${missing.join(' ')}" (and allow it for the client at the IdP)`,
      { details: { needed: missing, granted } },
    );
  }

  #keysOf(state: IssuerState): Promise<JWTVerifyGetKey> {
    state.loading ??= this.#loadKeys(state).then(
      (keys) => {
        state.keys = keys;
        return keys;
      },
      (e) => {
        state.loading = undefined;
        throw e;
      },
    );
    return state.loading;
  }

  async #loadKeys(state: IssuerState): Promise<JWTVerifyGetKey> {
    const jwksUri = state.cfg.jwksUri ?? (await discoverIssuer(state.cfg)).jwks_uri;
    return createRemoteJWKSet(new URL(jwksUri), {
      cooldownDuration: state.cfg.jwksCooldownSec * 1000,
      cacheMaxAge: state.cfg.jwksCacheMaxAgeSec * 1000,
      timeoutDuration: 5000,
    });
  }
}
