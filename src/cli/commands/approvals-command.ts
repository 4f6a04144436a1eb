/** `airclutch approvals list|approve|deny|review`: the list and the votes go through the gate like the API's. @module */
import { Command } from 'commander';
import type { ApprovalView } from '../../gate/gate-types.ts';
import { listApprovalsFor } from '../../gate/list-approvals-for.ts';
import { voteOnApproval } from '../../gate/vote.ts';
import { printTable } from '../cli-context.ts';
import { type IdentityFlags, identityOptions } from '../cli-principal.ts';
import { withGate } from '../with-gate.ts';

const iso = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString());

function approvalRow(a: ApprovalView) {
  return {
    id: a.id,
    kind: a.kind,
    dag: `${a.env}/${a.dag_id}`,
    run: a.run_id,
    by: a.requested_by,
    votes: `${a.votes.filter((v) => v.vote === 'approve').length}/${a.quorum}`,
    state: a.state,
    expires: iso(a.expires_at),
    reason: a.reason ?? '',
  };
}

function voteCommand(name: 'approve' | 'deny' | 'review', description: string): Command {
  return identityOptions(
    new Command(name)
      .description(description)
      .argument('<id>', 'approval request id')
      .option('-m, --comment <text>', 'a comment, kept with the vote'),
  ).action(async (id: string, opts: { comment?: string } & IdentityFlags, cmd: Command) => {
    const res = await withGate(cmd, opts, 'approve', (ac, ctx) =>
      voteOnApproval(ac.gate, ctx, id, name, opts.comment),
    );
    process.stdout.write(
      `${name} recorded: ${res.approvals}/${res.quorum} approvals; request ${res.approval.state}; run ${res.approval.run_id} ${res.runState}\n`,
    );
  });
}

export function approvalsCommand(): Command {
  const group = new Command('approvals').description('Approval requests: list them and vote');
  group.addCommand(
    identityOptions(
      new Command('list')
        .description(
          'Approval requests you can act on now (Cedar `approve`, never your own), then your own requests',
        )
        .option('--limit <n>', 'at most this many of each', '50')
        .option('--json', 'print JSON: { actionable, mine }'),
    ).action(async (opts: { limit: string; json?: boolean } & IdentityFlags, cmd: Command) => {
      const limit = Number(opts.limit) || 50;
      const lists = await withGate(cmd, opts, 'view', (ac, ctx) => listApprovalsFor(ac.gate, ctx, { limit }));
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(lists, null, 2)}\n`);
        return;
      }
      process.stdout.write('Waiting for you:\n');
      printTable(lists.actionable.map(approvalRow), false);
      process.stdout.write('\nYour requests:\n');
      printTable(lists.mine.map(approvalRow), false);
    }),
  );
  group.addCommand(voteCommand('approve', 'Approve a run that waits for approval'));
  group.addCommand(
    voteCommand('deny', 'Deny a run that waits for approval: one eligible denial ends the request'),
  );
  group.addCommand(voteCommand('review', 'Review a break-glass run after the fact'));
  return group;
}
