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

/**
 * Service names the engine acts under, which no token may produce: `scheduler`, `airclutch`, and
 * every `dag:…` (a DAG triggering another). Compared case-insensitively so that look-alikes such as
 * `Scheduler` are refused too. Returns why the name is reserved, or undefined when it is free.
 *
 * @example
 * reservedServiceName('dag:dev/month_end'); // 'which is reserved for DAG-to-DAG triggers (dag:<env>/<dag>)'
 */
export function reservedServiceName(id: string): string | undefined {
  const name = id.trim().toLowerCase();
  if (name === 'scheduler') return 'which is reserved for the engine’s scheduler';
  if (name === 'airclutch') return 'which is reserved for the engine itself';
  if (name.startsWith('dag:')) return 'which is reserved for DAG-to-DAG triggers (dag:<env>/<dag>)';
  return undefined;
}

/** `User::"ana@example.com"` or `Service::"scheduler"`. */
export function principalRef(p: Pick<Principal, 'kind' | 'id'>): string {
  return `${p.kind === 'user' ? 'User' : 'Service'}::${JSON.stringify(p.id)}`;
}
