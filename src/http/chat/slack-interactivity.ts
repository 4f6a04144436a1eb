/**
 * `POST /slack/interactivity`: Slack calls it when someone clicks Approve or Deny. The raw body is
 * checked against the signing secret before anything is parsed, the clicking user is mapped to an
 * identity, and the vote goes through the gate like any other (source `chat`). The message is then
 * updated through the click's `response_url` (only on `server.slack.responseUrlOrigins`).
 * @module
 */
import type { FastifyInstance } from 'fastify';
import type { Airclutch } from '../../app/create-airclutch.ts';
import { type VoteOutcome, voteOnApproval } from '../../gate/vote.ts';
import type { IdentityConfig } from '../../identity/identity-config.ts';
import { AirclutchError, describeThrown } from '../../lib/errors.ts';
import type { SlackConfig } from '../server-config.ts';
import { approvalRequestData } from './chat-events.ts';
import { approvalMessage, parseApprovalButton, votedMessage } from './slack-message.ts';
import { verifySlackSignature } from './slack-signature.ts';
import { slackVoter } from './slack-voter.ts';
import { deliverWebhook } from './webhook-delivery.ts';

export interface SlackInteractivityOptions {
  readonly ac: Airclutch;
  readonly slack: SlackConfig;
  readonly identity: IdentityConfig;
  readonly now: () => number;
}

const FORM = 'application/x-www-form-urlencoded';

export async function slackInteractivity(
  app: FastifyInstance,
  opts: SlackInteractivityOptions,
): Promise<void> {
  const secret = opts.slack.signingSecret;
  if (!secret) throw new TypeError('slackInteractivity needs server.slack.signingSecret');
  // The signature covers the exact bytes, so this route keeps the body as a string.
  if (app.hasContentTypeParser(FORM)) app.removeContentTypeParser(FORM);
  app.addContentTypeParser(FORM, { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.post(
    '/slack/interactivity',
    {
      schema: {
        summary: 'Slack interactivity callback (signed with the app signing secret)',
        tags: ['chat'],
      },
    },
    async (req) => {
      verifySlackSignature({
        secret,
        body: typeof req.body === 'string' ? req.body : '',
        timestamp: req.headers['x-slack-request-timestamp'],
        signature: req.headers['x-slack-signature'],
        nowMs: opts.now(),
        windowSec: opts.slack.replayWindowSec,
      });
      const payload = parsePayload(req.body as string);
      if (payload.type !== 'block_actions') return { text: 'ignored' };
      const action = Array.isArray(payload.actions) ? payload.actions[0] : undefined;
      const vote = action?.action_id;
      if ((vote !== 'approve' && vote !== 'deny') || typeof action.value !== 'string') {
        throw new AirclutchError(
          'REQUEST_INVALID',
          'the Slack action is not an Approve or Deny button of Airclutch',
        );
      }
      const principal = slackVoter(opts.slack, opts.identity, payload.user ?? {});
      const shown = parseApprovalButton(action.value);
      const outcome = await voteOnApproval(
        opts.ac.gate,
        { principal, source: 'chat', requestId: req.id },
        shown.id,
        vote,
        { comment: 'via Slack', paramsHash: shown.paramsHash, dagVersion: shown.dagVersion },
      );
      const responseUrl = payload.response_url;
      if (typeof responseUrl === 'string' && allowedOrigin(responseUrl, opts.slack.responseUrlOrigins)) {
        // After the answer, not before it: Slack wants one within 3 seconds.
        void updateMessage(opts.ac, responseUrl, outcome).then((r) => {
          if (r.outcome !== 'delivered') req.log.warn(`Slack message not updated: ${r.reason}`);
        });
      }
      return {
        response_type: 'ephemeral',
        replace_original: false,
        text: `${vote === 'approve' ? 'Approved' : 'Denied'} by ${principal.id}: ${outcome.approvals}/${outcome.quorum} approvals, run ${outcome.runState}`,
      };
    },
  );
}

function allowedOrigin(url: string, origins: readonly string[]): boolean {
  try {
    const origin = new URL(url).origin;
    return origins.some((o) => new URL(o).origin === origin);
  } catch {
    return false;
  }
}

/** Replaces the approval message with its votes so far (and its outcome, once closed). */
async function updateMessage(ac: Airclutch, responseUrl: string, outcome: VoteOutcome) {
  try {
    const data = await approvalRequestData(ac, outcome.approval.id);
    const body = JSON.stringify(votedMessage(approvalMessage(data), data.approval, outcome.runState));
    return await deliverWebhook({ url: responseUrl, body, maxAttempts: 3 });
  } catch (e) {
    return { outcome: 'failed' as const, reason: describeThrown(e) };
  }
}

function parsePayload(body: string): Record<string, any> {
  try {
    const raw = new URLSearchParams(body).get('payload');
    const parsed = raw ? JSON.parse(raw) : undefined;
    if (parsed && typeof parsed === 'object') return parsed;
  } catch {
    // falls through to the refusal below
  }
  throw new AirclutchError('REQUEST_INVALID', 'the Slack request has no JSON payload field');
}
