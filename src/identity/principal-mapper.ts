/**
 * Turns verified claims into a `Principal`, by the issuer's claim mapping and ordered rules. Rules are
 * compiled once per issuer so that mapping a token costs a few property reads.
 * @module
 */
import { AirclutchError } from '../lib/errors.ts';
import type { ClaimPath, PrincipalRule, TrustedIssuerConfig } from './identity-config.ts';
import { type Principal, reservedServiceName, type TokenFacts } from './principal.ts';

type Claims = Readonly<Record<string, unknown>>;
type Part = string | { claim: string };

interface CompiledRule {
  readonly rule: PrincipalRule;
  readonly match: readonly [string, readonly string[]][];
  readonly id: readonly Part[];
  readonly displayName: readonly Part[] | undefined;
  readonly usesEmail: boolean;
}

/** Compiled claim mapping for one issuer. */
export class PrincipalMapper {
  readonly #issuer: string;
  readonly #claims: TrustedIssuerConfig['claims'];
  readonly #rules: readonly CompiledRule[];

  constructor(cfg: Pick<TrustedIssuerConfig, 'issuer' | 'claims' | 'principals'>) {
    this.#issuer = cfg.issuer;
    this.#claims = cfg.claims;
    this.#rules = cfg.principals.map(compileRule);
  }

  /**
   * Maps verified claims to a principal, or throws `PRINCIPAL_UNMAPPED`.
   *
   * @example
   * const p = mapper.map(payload); // { kind: 'user', id: 'eng@example.com', groups: ['data-eng'], … }
   */
  map(claims: Claims): Principal {
    const subject = stringClaim(claims, this.#claims.subject) ?? '';
    for (const c of this.#rules) {
      if (!matches(c, claims)) continue;
      if (c.rule.kind === 'user' && c.usesEmail && claims.email_verified === false) continue;
      const id = render(c.id, claims, this.#claims);
      if (id === undefined) continue;
      if (c.rule.kind === 'service') this.#refuseReserved(id, c.rule, subject);
      const displayName =
        (c.displayName && render(c.displayName, claims, this.#claims)) ??
        stringClaim(claims, this.#claims.displayName) ??
        (c.rule.kind === 'user' ? stringClaim(claims, this.#claims.email) : undefined);
      return {
        kind: c.rule.kind,
        id,
        displayName,
        groups: c.rule.kind === 'user' ? groupsOf(claims, this.#claims.groups) : [],
        issuer: this.#issuer,
        subject,
        token: tokenFacts(claims),
      };
    }
    throw new AirclutchError(
      'PRINCIPAL_UNMAPPED',
      `token from ${this.#issuer} (sub ${JSON.stringify(subject)}) matches no principal rule: people need a verified email claim, services a client-credentials token or a rule under identity.issuers[].principals`,
    );
  }

  /** A token never speaks for the engine: `Service::"scheduler"`, `Service::"dag:…"` and `Service::"airclutch"` are its own. */
  #refuseReserved(id: string, rule: PrincipalRule, subject: string): void {
    const why = reservedServiceName(id);
    if (!why) return;
    const claims = [...rule.id.matchAll(/\{([^{}]+)\}/g)].map((m) => m[1]);
    const from = claims.length ? `its ${claims.map((c) => `"${c}"`).join(', ')} claim` : 'the fixed rule id';
    throw new AirclutchError(
      'PRINCIPAL_RESERVED',
      `token from ${this.#issuer} (sub ${JSON.stringify(subject)}) would map through ${from} (rule id "${rule.id}") to Service::${JSON.stringify(id)}, ${why}; no token may act as the engine: rename the client at the IdP, or map it with a rule id such as "client:{client_id}"`,
    );
  }
}

function compileRule(rule: PrincipalRule): CompiledRule {
  return {
    rule,
    match: Object.entries(rule.match).map(([k, v]) => [k, Array.isArray(v) ? v : [v]] as const),
    id: compileTemplate(rule.id),
    displayName: rule.displayName === undefined ? undefined : compileTemplate(rule.displayName),
    usesEmail: rule.id.includes('{email}'),
  };
}

function compileTemplate(t: string): Part[] {
  const parts: Part[] = [];
  const re = /\{([^{}]+)\}/g;
  let last = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    if (m.index > last) parts.push(t.slice(last, m.index));
    parts.push({ claim: m[1]! });
    last = m.index + m[0].length;
  }
  if (last < t.length) parts.push(t.slice(last));
  return parts;
}

function matches(c: CompiledRule, claims: Claims): boolean {
  if (c.rule.kind === 'service' && c.match.length === 0 && !isClientCredentials(claims)) return false;
  for (const [claim, allowed] of c.match) {
    const v = claims[claim];
    if (typeof v !== 'string' || !allowed.includes(v)) return false;
  }
  return true;
}

/** A token issued to a client for itself: `sub` is the client (oidc-provider, Okta) or `<client>@clients` (Auth0). */
function isClientCredentials(claims: Claims): boolean {
  const sub = claims.sub;
  const client = claims.client_id ?? claims.azp;
  return (
    typeof sub === 'string' && typeof client === 'string' && (sub === client || sub === `${client}@clients`)
  );
}

function render(
  parts: readonly Part[],
  claims: Claims,
  mapping: TrustedIssuerConfig['claims'],
): string | undefined {
  let out = '';
  for (const p of parts) {
    if (typeof p === 'string') {
      out += p;
      continue;
    }
    const path: ClaimPath = p.claim === 'email' ? mapping.email : p.claim;
    const v = stringClaim(claims, path);
    if (v === undefined || v === '') return undefined;
    // Emails are compared case-insensitively by people and IdPs alike: one person is one principal.
    out += p.claim === 'email' ? v.toLowerCase() : v;
  }
  return out;
}

function claimAt(claims: Claims, path: ClaimPath): unknown {
  if (typeof path === 'string') return claims[path];
  let v: unknown = claims;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

function stringClaim(claims: Claims, path: ClaimPath): string | undefined {
  const v = claimAt(claims, path);
  return typeof v === 'string' ? v : undefined;
}

function groupsOf(claims: Claims, path: ClaimPath): string[] {
  const v = claimAt(claims, path);
  if (Array.isArray(v)) return v.filter((g): g is string => typeof g === 'string');
  return typeof v === 'string' && v ? [v] : [];
}

/** Scopes from `scope` (space-separated, RFC 9068) or `scp` (an array: Entra ID, Okta). */
export function scopesOf(claims: Claims): string[] {
  const { scope, scp } = claims;
  if (typeof scope === 'string') return scope.split(' ').filter(Boolean);
  if (Array.isArray(scp)) return scp.filter((s): s is string => typeof s === 'string');
  if (typeof scp === 'string') return scp.split(' ').filter(Boolean);
  return [];
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

function tokenFacts(claims: Claims): TokenFacts {
  const client = claims.client_id ?? claims.azp;
  return {
    jti: typeof claims.jti === 'string' ? claims.jti : undefined,
    clientId: typeof client === 'string' ? client : undefined,
    scopes: scopesOf(claims),
    amr: Array.isArray(claims.amr) ? claims.amr.filter((a): a is string => typeof a === 'string') : [],
    authTime: num(claims.auth_time),
    issuedAt: num(claims.iat),
    expiresAt: num(claims.exp),
  };
}
