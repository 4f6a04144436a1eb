/**
 * The Block Kit message for a run awaiting approval: requester, DAG, environment, params (sensitive
 * ones masked, as the DAG's params schema marks them), the params hash and DAG version, and the
 * policy's reason, with Approve and Deny buttons whose value names the approval request and the
 * params hash and DAG version the message showed: a click votes on what the clicker saw. A DAG
 * action's request (an Airflow unpause) gets the same message and buttons, saying which action it is
 * and what it starts, in place of the run and its params.
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
  /** Null for a DAG action's request (an Airflow unpause). */
  run: RunView | null;
  approval: ApprovalView;
  reasons: readonly string[];
  paramsSchema: unknown;
  /** The web UI's pages under the server's public URL: the message links to them. */
  links?: UiLinks | undefined;
}): Record<string, unknown> {
  const { run, approval } = input;
  const reason = input.reasons.join('; ') || approval.reason || 'policy requires approval';
  const asked = run
    ? `${approval.requested_by} asks to run ${approval.env}/${approval.dag_id}`
    : `${approval.requested_by} asks to ${approval.action} the Airflow DAG ${approval.dag_id} in ${approval.env}`;
  const needs = `needs ${approval.quorum} approval${approval.quorum === 1 ? '' : 's'}`;
  return {
    text: `${asked} (${needs})`,
    blocks: [
      {
        type: 'header',
        text: {
          type: 'plain_text',
          text: run ? 'Run awaiting approval' : `${actionTitle(approval)} awaiting approval`,
        },
      },
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: `*Requester*\n${approval.requested_by}` },
          { type: 'mrkdwn', text: `*DAG*\n${approval.dag_id}` },
          { type: 'mrkdwn', text: `*Environment*\n${approval.env}` },
          { type: 'mrkdwn', text: `*Quorum*\n${approval.quorum}` },
        ],
      },
      run ? paramsBlock(run, input.paramsSchema) : actionBlock(approval),
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
      ...(run?.note ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: `Note: ${run.note}` }] }] : []),
      ...(input.links ? [linksBlock(input.links, approval)] : []),
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
        elements: [
          {
            type: 'mrkdwn',
            text: run
              ? `run ${run.id} · approval ${approval.id}`
              : `${approval.action} · approval ${approval.id}`,
          },
        ],
      },
    ],
  };
}

function paramsBlock(run: RunView, paramsSchema: unknown): Record<string, unknown> {
  const params = maskParams(run.params, paramsSchema);
  const paramText = Object.entries(params)
    .map(([k, v]) => `• \`${k}\`: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join('\n');
  return { type: 'section', text: { type: 'mrkdwn', text: `*Params*\n${paramText || '(none)'}` } };
}

/** What a DAG action's approval sets off, said plainly. */
function actionBlock(approval: ApprovalView): Record<string, unknown> {
  const what =
    approval.action === 'unpause'
      ? `Unpause ${approval.dag_id} in Airflow (${approval.env}): its Airflow schedule starts, and its scheduled runs get the DAG's default params.`
      : `${approval.action} ${approval.dag_id} in ${approval.env}`;
  return { type: 'section', text: { type: 'mrkdwn', text: `*Action*\n${what}` } };
}

function actionTitle(approval: ApprovalView): string {
  const a = approval.action ?? 'action';
  return `${a.charAt(0).toUpperCase()}${a.slice(1)}`;
}

/**
 * Links as mrkdwn, not URL buttons: a URL button's click is also posted to the interactivity
 * endpoint, which only takes votes.
 */
function linksBlock(links: UiLinks, approval: ApprovalView): Record<string, unknown> {
  const what =
    approval.run_id === null
      ? `<${links.dag(approval.env, approval.dag_id)}|the DAG>`
      : `<${links.run(approval.run_id)}|the run>`;
  return {
    type: 'section',
    text: {
      type: 'mrkdwn',
      text: `<${links.approval(approval)}|Open in Airclutch> (the request) · ${what} · <${links.approvals()}|Approvals inbox>`,
    },
  };
}

/**
 * What a vote left behind, for the clicker and the updated message: the run's state, or how far a
 * DAG action got (`unpause done`, `unpause pending (attempt 2: …)`, `unpause failed: …`).
 *
 * @example
 * afterVote(outcome.approval, outcome.runState); // 'run queued'
 */
export function afterVote(approval: ApprovalView, runState: string): string {
  if (approval.run_id !== null) return `run ${runState}`;
  const d = approval.delivery;
  if (approval.state !== 'approved' || !d)
    return `${approval.action} ${approval.state === 'pending' ? 'not yet approved' : 'not done'}`;
  if (d.state === 'done') return `${approval.action} done`;
  return `${approval.action} ${d.state}${d.last_error ? ` (after ${d.attempts} tr${d.attempts === 1 ? 'y' : 'ies'}: ${d.last_error})` : ''}`;
}

/**
 * The approval message again, after a vote: who voted so far, and once the request closed, its
 * outcome (`after`, from `afterVote`) in place of the buttons.
 *
 * @example
 * const updated = votedMessage(approvalMessage({ run, approval, reasons, paramsSchema }), approval, 'run queued');
 */
export function votedMessage(
  message: Record<string, unknown>,
  approval: ApprovalView,
  after: string,
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
  const status = closed ? `*${approval.state}*: ${tally}; ${after}` : `Waiting: ${tally}`;
  const blocks = (message.blocks as Array<{ type: string }>).filter((b) => !closed || b.type !== 'actions');
  blocks.splice(blocks.length - 1, 0, { type: 'section', text: { type: 'mrkdwn', text: status } } as never);
  return { ...message, replace_original: true, text: `${String(message.text)}: ${status}`, blocks };
}
