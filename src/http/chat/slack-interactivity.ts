/**
 * `POST /slack/interactivity`: Slack calls it when someone clicks Approve or Deny. The raw body bytes
 * are checked against the signing secret before anything is parsed, whatever the Content-Type (and
 * only the form encoding Slack sends is accepted), the clicking user is mapped to an
 * identity, and the vote goes through the gate like any other (source `chat`). The message is then
 * updated through the click's `response_url` (only on `server.slack.responseUrlOrigins`).
 * @module
 */
import type { FastifyInstance } from 'fastify';
import type { Airclutch } from '../../app/create-airclutch.ts';
import { RefusalRecorder } from '../../audit/refusal-recorder.ts';
import { type VoteOutcome, voteOnApproval } from '../../gate/vote.ts';
import type { IdentityConfig } from '../../identity/identity-config.ts';
import type { Principal } from '../../identity/principal.ts';
import { AirclutchError, describeThrown, isAirclutchError } from '../../lib/errors.ts';
import type { UiLinks } from '../../lib/ui-links.ts';
import type { SlackConfig } from '../server-config.ts';
import { approvalRequestData } from './chat-events.ts';
import {
  type ApprovalButton,
  afterVote,
  approvalMessage,
  parseApprovalButton,
  votedMessage,
} from './slack-message.ts';
import { verifySlackSignature } from './slack-signature.ts';
import { slackVoter } from './slack-voter.ts';
import { deliverWebhook } from './webhook-delivery.ts';

export interface SlackInteractivityOptions {
  readonly ac: Airclutch;
  readonly slack: SlackConfig;
  readonly identity: IdentityConfig;
  readonly now: () => number;
  /** The web UI's pages, for the links of the message updated after a vote. */
  readonly links?: () => UiLinks | undefined;
}

const FORM = 'application/x-www-form-urlencoded';

/** A click on one of Airclutch's buttons, read from a signed request. */
interface Click {
  readonly vote: 'approve' | 'deny';
  /** The request the button named, with the params hash and DAG version its message showed. */
  readonly shown: ApprovalButton;
  readonly user: { id?: unknown; email?: unknown; name?: unknown };
  readonly responseUrl: unknown;
}

export async function slackInteractivity(
  app: FastifyInstance,
  opts: SlackInteractivityOptions,
): Promise<void> {
  const secret = opts.slack.signingSecret;
  if (!secret) throw new TypeError('slackInteractivity needs server.slack.signingSecret');
  // The signature covers the exact bytes whatever the Content-Type says, so in this plugin no
  // parser runs: every body reaches the route as the Buffer that was received.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  // Refusals before the gate, aggregated (an unsigned flood must not flood the trail); the gate
  // records the votes it refuses itself.
  const refusals = new RefusalRecorder(opts.ac.audit, {
    action: 'chat.rejected',
    source: 'chat',
    clock: opts.now,
  });
  app.addHook('onClose', async () => refusals.flush());

  app.post(
    '/slack/interactivity',
    {
      schema: {
        summary: 'Slack interactivity callback (signed with the app signing secret)',
        description: `The body must be ${FORM}, as Slack sends it; the v0 signature is checked over its raw bytes.`,
        tags: ['chat'],
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            description: "Slack's answer: an ephemeral message to the clicker",
            properties: {
              text: { type: 'string' },
              response_type: { type: 'string' },
              replace_original: { type: 'boolean' },
            },
          },
        },
      },
    },
    async (req) => {
      let slackUser: string | undefined;
      let click: Click | undefined;
      let principal: Principal;
      try {
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        verifySlackSignature({
          secret,
          body,
          timestamp: req.headers['x-slack-request-timestamp'],
          signature: req.headers['x-slack-signature'],
          nowMs: opts.now(),
          windowSec: opts.slack.replayWindowSec,
        });
        requireForm(req.headers['content-type']);
        const payload = parsePayload(body.toString('utf8'));
        slackUser = typeof payload.user?.id === 'string' ? payload.user.id : undefined;
        click = readClick(payload);
        if (!click) return { text: 'ignored' };
        principal = slackVoter(opts.slack, opts.identity, click.user);
      } catch (e) {
        refusals.record({ code: isAirclutchError(e) ? e.code : 'INTERNAL', subject: slackUser, ip: req.ip });
        throw e;
      }
      const { vote, shown, responseUrl } = click;
      const outcome = await voteOnApproval(
        opts.ac.gate,
        { principal, source: 'chat', requestId: req.id },
        shown.id,
        vote,
        { comment: 'via Slack', paramsHash: shown.paramsHash, dagVersion: shown.dagVersion },
      );
      if (typeof responseUrl === 'string' && allowedOrigin(responseUrl, opts.slack.responseUrlOrigins)) {
        // After the answer, not before it: Slack wants one within 3 seconds.
        void updateMessage(opts.ac, responseUrl, outcome, opts.links?.()).then((r) => {
          if (r.outcome !== 'delivered') req.log.warn(`Slack message not updated: ${r.reason}`);
        });
      }
      return {
        response_type: 'ephemeral',
        replace_original: false,
        text: `${vote === 'approve' ? 'Approved' : 'Denied'} by ${principal.id}: ${outcome.approvals}/${outcome.quorum} approvals, ${afterVote(outcome.approval, outcome.runState)}`,
      };
    },
  );
}

/** Slack sends interactivity callbacks form-encoded; a body that claims anything else is refused. */
function requireForm(contentType: string | undefined): void {
  const essence = contentType?.split(';')[0]?.trim().toLowerCase();
  if (essence === FORM) return;
  const sent = contentType ? `Content-Type ${JSON.stringify(contentType.slice(0, 100))}` : 'no Content-Type';
  throw new AirclutchError(
    'MEDIA_TYPE_UNSUPPORTED',
    `Slack request refused: ${sent}; Slack interactivity callbacks are sent as ${FORM}`,
  );
}

/** The Approve or Deny click in a `block_actions` payload; undefined for other payload types. */
function readClick(payload: Record<string, any>): Click | undefined {
  if (payload.type !== 'block_actions') return undefined;
  const action = Array.isArray(payload.actions) ? payload.actions[0] : undefined;
  const vote = action?.action_id;
  if ((vote !== 'approve' && vote !== 'deny') || typeof action.value !== 'string') {
    throw new AirclutchError(
      'REQUEST_INVALID',
      'the Slack action is not an Approve or Deny button of Airclutch',
    );
  }
  return {
    vote,
    shown: parseApprovalButton(action.value),
    user: payload.user ?? {},
    responseUrl: payload.response_url,
  };
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
async function updateMessage(
  ac: Airclutch,
  responseUrl: string,
  outcome: VoteOutcome,
  links: UiLinks | undefined,
) {
  try {
    const data = await approvalRequestData(ac, outcome.approval.id);
    const message = approvalMessage({ ...data, links });
    const body = JSON.stringify(
      votedMessage(message, data.approval, afterVote(data.approval, outcome.runState)),
    );
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
