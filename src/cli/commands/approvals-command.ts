/** `airclutch approvals list|approve|deny|review`: votes go through the gate like the API's. @module */
import { randomUUID } from 'node:crypto';
import { Command } from 'commander';
import { createAirclutch } from '../../app/create-airclutch.ts';
import { voteOnApproval } from '../../gate/vote.ts';
import { configFor, printTable } from '../cli-context.ts';
import { cliPrincipal, identityOptions } from '../cli-principal.ts';

const iso = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString());

function voteCommand(name: 'approve' | 'deny' | 'review', description: string): Command {
  return identityOptions(
    new Command(name)
      .description(description)
      .argument('<id>', 'approval request id')
      .option('-m, --comment <text>', 'a comment, kept with the vote'),
  ).action(async (id: string, opts: { comment?: string; token?: string; as?: string }, cmd: Command) => {
    const config = await configFor(cmd);
    const principal = await cliPrincipal(config, opts, 'approve');
    const ac = await createAirclutch(config);
    try {
      const res = await voteOnApproval(
        ac.gate,
        { principal, source: 'cli', requestId: randomUUID() },
        id,
        name,
        opts.comment,
      );
      process.stdout.write(
        `${name} recorded: ${res.approvals}/${res.quorum} approvals; request ${res.approval.state}; run ${res.approval.run_id} ${res.runState}\n`,
      );
    } finally {
      await ac.close();
    }
  });
}

export function approvalsCommand(): Command {
  const group = new Command('approvals').description('Approval requests: list them and vote');
  group
    .command('list')
    .description('Pending approval requests and break-glass reviews')
    .option('--all', 'include closed requests')
    .option('--json', 'print JSON')
    .action(async (opts: { all?: boolean; json?: boolean }, cmd: Command) => {
      const config = await configFor(cmd);
      const ac = await createAirclutch(config);
      try {
        let q = ac.db.kysely
          .selectFrom('approval_requests')
          .selectAll()
          .orderBy('created_at', 'desc')
          .limit(200);
        if (!opts.all) q = q.where('state', '=', 'pending');
        const rows = await q.execute();
        printTable(
          rows.map((r) => ({
            id: r.id,
            kind: r.kind,
            dag: `${r.env}/${r.dag_id}`,
            run: r.run_id,
            by: r.requested_by,
            quorum: r.quorum,
            state: r.state,
            expires: iso(r.expires_at),
            reason: r.reason,
          })),
          opts.json,
        );
      } finally {
        await ac.close();
      }
    });
  group.addCommand(voteCommand('approve', 'Approve a run that waits for approval'));
  group.addCommand(
    voteCommand('deny', 'Deny a run that waits for approval: one eligible denial ends the request'),
  );
  group.addCommand(voteCommand('review', 'Review a break-glass run after the fact'));
  return group;
}
