/** Turns a `Principal` into the actor an audit record keeps: who, as the token said at the time. @module */
import type { Principal } from '../identity/principal.ts';
import type { AuditActor } from './audit-types.ts';

/**
 * @example
 * await audit.append([{ action: 'trigger', actor: actorOf(principal), resource: { env, dagId } }], { trx });
 */
export function actorOf(principal: Principal): AuditActor {
  return {
    kind: principal.kind,
    id: principal.id,
    subject: principal.subject,
    issuer: principal.issuer,
    displayName: principal.displayName ?? null,
    groups: [...principal.groups],
    tokenId: principal.token?.jti ?? null,
    client: principal.token?.clientId ?? null,
  };
}
