/**
 * Who clicked in Slack, as Airclutch knows them. Slack users present no OIDC token, so the mapping
 * is configuration the operator controls: `server.slack.users` (Slack user id → email) first, else
 * the email in the signed payload; the groups come from `server.slack.directory`, or from the dev
 * IdP's users in dev mode. An unmapped user is refused, never guessed.
 * @module
 */
import type { IdentityConfig } from '../../identity/identity-config.ts';
import type { Principal } from '../../identity/principal.ts';
import { AirclutchError } from '../../lib/errors.ts';
import type { SlackConfig } from '../server-config.ts';

/**
 * @example
 * const principal = slackVoter(config.server.slack, config.identity, { id: 'U123' });
 */
export function slackVoter(
  slack: SlackConfig,
  identity: IdentityConfig,
  user: { id?: unknown; email?: unknown; name?: unknown },
): Principal {
  const userId = typeof user.id === 'string' ? user.id : undefined;
  const email = (userId && slack.users[userId]) ?? (typeof user.email === 'string' ? user.email : undefined);
  if (!userId || !email) {
    throw new AirclutchError(
      'PRINCIPAL_UNMAPPED',
      `Slack user ${userId ?? '(none)'} is not mapped to an identity: add it under server.slack.users (Slack user id → email)`,
    );
  }
  const groups =
    slack.directory[email] ??
    (identity.mode === 'dev' ? identity.devIdp.users.find((u) => u.email === email)?.groups : undefined) ??
    [];
  return {
    kind: 'user',
    // Lower case, as tokens' emails are (principal-mapper.ts): one person is one voter.
    id: email.toLowerCase(),
    displayName: typeof user.name === 'string' ? user.name : email,
    groups,
    issuer: 'slack',
    subject: userId,
    token: { scopes: [], amr: ['slack'] },
  };
}
