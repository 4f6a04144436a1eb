/** `airclutch approvals list|approve|deny|review`: the list and the votes go through the gate like the API's. @module */
import { Command } from 'commander';
import { type ApprovalForVoter, approvalForVoter } from '../../gate/approval-for-voter.ts';
import type { ApprovalView } from '../../gate/gate-types.ts';
import { listApprovalsFor } from '../../gate/list-approvals-for.ts';
import { voteOnApproval } from '../../gate/vote.ts';
import { isAirclutchError } from '../../lib/errors.ts';
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
    hash: a.params_hash.slice(0, 12),
    state: a.state,
    expires: iso(a.expires_at),
    reason: a.reason ?? '',
  };
}

/** What the voter is shown before the vote: the vote is bound to the hash and version printed here. */
function printShown({ approval, run }: ApprovalForVoter): void {
  const line = (k: string, v: string) => process.stdout.write(`${`${k}:`.padEnd(14)}${v}\n`);
  line('Request', `${approval.id} (${approval.kind}, ${approval.state})`);
  line('DAG', approval.dag_id);
  line('Environment', approval.env);
  line('Requested by', approval.requested_by);
  if (run) line('Params', JSON.stringify(run.params));
  else line('Action', `${approval.action ?? '?'} the DAG (its schedule starts)`);
  line('Params hash', approval.params_hash);
  line('DAG version', approval.dag_version);
}

interface VoteFlags extends IdentityFlags {
  comment?: string;
  paramsHash?: string;
  dagVersion?: string;
}

function voteCommand(name: 'approve' | 'deny' | 'review', description: string): Command {
  return identityOptions(
    new Command(name)
      .description(description)
      .argument('<id>', 'approval request id')
      .option('-m, --comment <text>', 'a comment, kept with the vote')
      .option(
        '--params-hash <hash>',
        'vote on the params hash you reviewed elsewhere (default: the one printed before the vote)',
      )
      .option(
        '--dag-version <version>',
        'vote on the DAG version you reviewed elsewhere (default: the one printed before the vote)',
      ),
  ).action(async (id: string, opts: VoteFlags, cmd: Command) => {
    const res = await withGate(cmd, opts, 'approve', async (ac, ctx) => {
      // Someone who may not see the request still votes, so that the gate refuses and records it.
      const shown = await approvalForVoter(ac.gate, ctx, id).catch((e) => {
        if (isAirclutchError(e)) return undefined;
        throw e;
      });
      if (shown) printShown(shown);
      return voteOnApproval(ac.gate, ctx, id, name, {
        comment: opts.comment,
        paramsHash: opts.paramsHash ?? shown?.approval.params_hash,
        dagVersion: opts.dagVersion ?? shown?.approval.dag_version,
      });
    });
    process.stdout.write(
      `${name} recorded: ${res.approvals}/${res.quorum} approvals; request ${res.approval.state}; ${res.approval.run_id === null ? `${res.approval.action} of ${res.approval.env}/${res.approval.dag_id}` : `run ${res.approval.run_id} ${res.runState}`}\n`,
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
