/**
 * The Block Kit message for a run awaiting approval: requester, DAG, environment, params (sensitive
 * ones masked, as the DAG's params schema marks them) and the policy's reason, with Approve and Deny
 * buttons whose value is the approval request id.
 * @module
 */
import { maskParams } from '../../dag/mask-params.ts';
import type { ApprovalView, RunView } from '../../gate/gate-types.ts';

/**
 * @example
 * await fetch(webhookUrl, { method: 'POST', body: JSON.stringify(approvalMessage({ run, approval, reasons, paramsSchema })) });
 */
export function approvalMessage(input: {
  run: RunView;
  approval: ApprovalView;
  reasons: readonly string[];
  paramsSchema: unknown;
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
      ...(run.note ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: `Note: ${run.note}` }] }] : []),
      {
        type: 'actions',
        block_id: `approval:${approval.id}`,
        elements: [
          {
            type: 'button',
            action_id: 'approve',
            style: 'primary',
            text: { type: 'plain_text', text: 'Approve' },
            value: approval.id,
          },
          {
            type: 'button',
            action_id: 'deny',
            style: 'danger',
            text: { type: 'plain_text', text: 'Deny' },
            value: approval.id,
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
