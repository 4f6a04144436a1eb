/**
 * Principals: who acts. A person (`User`, with IdP groups) or a service (`Service`). Every action in
 * Airclutch carries one, built from a verified token by the identity module, or one of the engine's
 * own service principals (the scheduler, a DAG triggering another DAG).
 * @module
 */

export type PrincipalKind = 'user' | 'service';

export interface Principal {
  readonly kind: PrincipalKind;
  /** The Cedar entity id: an email (or sub) for users, a name for services. */
  readonly id: string;
  readonly displayName?: string | undefined;
  /** IdP groups at the time of the token. Services usually have none. */
  readonly groups: readonly string[];
  /** The token's issuer, or `airclutch` for the engine's own principals. */
  readonly issuer: string;
  readonly subject: string;
  /** Facts from the token that policies may read. */
  readonly token?: TokenFacts | undefined;
}

export interface TokenFacts {
  readonly jti?: string | undefined;
  readonly clientId?: string | undefined;
  readonly scopes: readonly string[];
  readonly amr: readonly string[];
  /** Seconds since the epoch. */
  readonly authTime?: number | undefined;
  readonly issuedAt?: number | undefined;
  readonly expiresAt?: number | undefined;
}

/** The engine's own service principal, for example `Service::"scheduler"`. */
export function servicePrincipal(name: string): Principal {
  return { kind: 'service', id: name, groups: [], issuer: 'airclutch', subject: name };
}

/** `User::"ana@example.com"` or `Service::"scheduler"`. */
export function principalRef(p: Pick<Principal, 'kind' | 'id'>): string {
  return `${p.kind === 'user' ? 'User' : 'Service'}::${JSON.stringify(p.id)}`;
}
