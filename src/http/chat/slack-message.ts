/**
 * The Block Kit message for a run awaiting approval: requester, DAG, environment, params (sensitive
 * ones masked, as the DAG's params schema marks them), the params hash and DAG version, and the
 * policy's reason, with Approve and Deny buttons whose value names the approval request and the
 * params hash and DAG version the message showed: a click votes on what the clicker saw.
 * @module
 */
import { maskParams } from '../../dag/mask-params.ts';
import type { ApprovalView, RunView } from '../../gate/gate-types.ts';
import { AirclutchError } from '../../lib/errors.ts';
import type { UiLinks } from '../../lib/ui-links.ts';

/** What an Approve or Deny button carries: the request, and what its message showed of it. */
export interface ApprovalButton {
  readonly id: string;
  readonly paramsHash: string;
  readonly dagVersion: string;
}

/** The value of an Approve or Deny button (Slack keeps it up to 2,000 characters). */
export function approvalButtonValue(
  approval: Pick<ApprovalView, 'id' | 'params_hash' | 'dag_version'>,
): string {
  return JSON.stringify({
    id: approval.id,
    paramsHash: approval.params_hash,
    dagVersion: approval.dag_version,
  });
}

/**
 * The request and what the message showed, from a clicked button's value. Throws `REQUEST_INVALID`
 * for a value that is not one of ours (buttons of messages sent before votes were bound carry only
 * the id: vote on those with the CLI or the API).
 */
export function parseApprovalButton(value: unknown): ApprovalButton {
  let parsed: Record<string, unknown> | undefined;
  try {
    const v = typeof value === 'string' ? JSON.parse(value) : undefined;
    if (v && typeof v === 'object') parsed = v;
  } catch {
    // falls through to the refusal below
  }
  const { id, paramsHash, dagVersion } = parsed ?? {};
  if (typeof id === 'string' && typeof paramsHash === 'string' && typeof dagVersion === 'string') {
    return { id, paramsHash, dagVersion };
  }
  throw new AirclutchError(
    'REQUEST_INVALID',
    'the button does not say which params hash and DAG version its message showed: vote with `airclutch approvals approve|deny` or the API',
  );
}

/**
 * @example
 * await fetch(webhookUrl, { method: 'POST', body: JSON.stringify(approvalMessage({ run, approval, reasons, paramsSchema })) });
 */
export function approvalMessage(input: {
  run: RunView;
  approval: ApprovalView;
  reasons: readonly string[];
  paramsSchema: unknown;
  /** The web UI's pages under the server's public URL: the message links to them. */
  links?: UiLinks | undefined;
}): Record<string, unknown> {
  const { run, approval } = input;
  const params = maskParams(run.params, input.paramsSchema);
  const paramText = Object.entries(params)
    .map(([k, v]) => `• \`${k}\`: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join('\n');
  const reason = input.reasons.join('; ') || approval.reason || 'policy requires approval';
  const title = `${approval.requested_by} asks to run ${run.env}/${run.dag_id}`;
  return {
    text: `${title} (needs ${approval.quorum} approval${approval.quorum === 1 ? '' : 's'})`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: 'Run awaiting approval' } },
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: `*Requester*\n${approval.requested_by}` },
          { type: 'mrkdwn', text: `*DAG*\n${run.dag_id}` },
          { type: 'mrkdwn', text: `*Environment*\n${run.env}` },
          { type: 'mrkdwn', text: `*Quorum*\n${approval.quorum}` },
        ],
      },
      { type: 'section', text: { type: 'mrkdwn', text: `*Params*\n${paramText || '(none)'}` } },
      { type: 'section', text: { type: 'mrkdwn', text: `*Why approval*\n${reason}` } },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `params hash \`${approval.params_hash}\` · DAG version \`${approval.dag_version}\``,
          },
        ],
      },
      ...(run.note ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: `Note: ${run.note}` }] }] : []),
      ...(input.links ? [linksBlock(input.links, run)] : []),
      {
        type: 'actions',
        block_id: `approval:${approval.id}`,
        elements: [
          {
            type: 'button',
            action_id: 'approve',
            style: 'primary',
            text: { type: 'plain_text', text: 'Approve' },
            value: approvalButtonValue(approval),
          },
          {
            type: 'button',
            action_id: 'deny',
            style: 'danger',
            text: { type: 'plain_text', text: 'Deny' },
            value: approvalButtonValue(approval),
          },
        ],
      },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `run ${run.id} · approval ${approval.id}` }],
      },
    ],
  };
}

/**
 * Links as mrkdwn, not URL buttons: a URL button's click is also posted to the interactivity
 * endpoint, which only takes votes.
 */
function linksBlock(links: UiLinks, run: RunView): Record<string, unknown> {
  return {
    type: 'section',
    text: {
      type: 'mrkdwn',
      text: `<${links.run(run.id)}|Open in Airclutch> (the run) · <${links.approvals()}|Approvals inbox>`,
    },
  };
}

/**
 * The approval message again, after a vote: who voted so far, and once the request closed, its
 * outcome in place of the buttons.
 *
 * @example
 * const updated = votedMessage(approvalMessage({ run, approval, reasons, paramsSchema }), approval, 'queued');
 */
export function votedMessage(
  message: Record<string, unknown>,
  approval: ApprovalView,
  runState: string,
): Record<string, unknown> {
  const approvals = approval.votes.filter((v) => v.vote === 'approve').map((v) => v.voter);
  const denials = approval.votes.filter((v) => v.vote === 'deny').map((v) => v.voter);
  const tally = [
    approvals.length ? `approved by ${approvals.join(', ')} (${approvals.length}/${approval.quorum})` : '',
    denials.length ? `denied by ${denials.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join('; ');
  const closed = approval.state !== 'pending';
  const status = closed ? `*${approval.state}*: ${tally}; run ${runState}` : `Waiting: ${tally}`;
  const blocks = (message.blocks as Array<{ type: string }>).filter((b) => !closed || b.type !== 'actions');
  blocks.splice(blocks.length - 1, 0, { type: 'section', text: { type: 'mrkdwn', text: status } } as never);
  return { ...message, replace_original: true, text: `${String(message.text)}: ${status}`, blocks };
}
