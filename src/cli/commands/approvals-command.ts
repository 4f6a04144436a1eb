/** `airclutch approvals list|approve|deny|review`: the server's approval API, as the caller. @module */
import { Command } from 'commander';
import { isAirclutchError } from '../../lib/errors.ts';
import { type UiLinks, uiLinks } from '../../lib/ui-links.ts';
import { apiClient, type ClientFlags, clientOptions } from '../api-client.ts';
import type { ApprovalView, RunView } from '../api-views.ts';
import { printTable } from '../cli-context.ts';
import { isoCell, printJson } from '../json-view.ts';

function approvalRow(a: ApprovalView, links: UiLinks) {
  return {
    id: a.id,
    kind: a.kind,
    dag: `${a.env}/${a.dag_id}`,
    run: a.run_id,
    by: a.requested_by,
    votes: `${a.votes.filter((v) => v.vote === 'approve').length}/${a.quorum}`,
    hash: a.params_hash.slice(0, 12),
    state: a.state,
    expires: isoCell(a.expires_at),
    reason: a.reason ?? '',
    link: links.approval(a),
  };
}

interface Shown {
  approval: ApprovalView;
  run: RunView;
}

/** What the voter is shown before the vote: the vote is bound to the hash and version printed here. */
function printShown({ approval, run }: Shown, links: UiLinks): void {
  const line = (k: string, v: string) => process.stdout.write(`${`${k}:`.padEnd(14)}${v}\n`);
  line('Request', `${approval.id} (${approval.kind}, ${approval.state})`);
  line('DAG', approval.dag_id);
  line('Environment', approval.env);
  line('Requested by', approval.requested_by);
  if (run) line('Params', JSON.stringify(run.params));
  else line('Action', `${approval.action ?? '?'} the DAG (its schedule starts)`);
  line('Params hash', approval.params_hash);
  line('DAG version', approval.dag_version);
  line('Open', links.approval(approval));
}

/** How far an approved DAG action got: done, or pending / failed with its tries and why. */
function deliveryText(a: ApprovalView): string {
  const d = a.delivery;
  if (!d) return '';
  if (d.state === 'done') return ': done';
  const next = d.next_attempt_at ? `; next try at ${new Date(d.next_attempt_at).toISOString()}` : '';
  return `: ${d.state} after ${d.attempts} tr${d.attempts === 1 ? 'y' : 'ies'}${next}${d.last_error ? ` (${d.last_error})` : ''}`;
}

interface VoteFlags extends ClientFlags {
  comment?: string;
  paramsHash?: string;
  dagVersion?: string;
}

function voteCommand(name: 'approve' | 'deny' | 'review', description: string): Command {
  return clientOptions(
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
    const api = await apiClient(cmd, opts);
    const path = `/api/v1/approvals/${encodeURIComponent(id)}`;
    // Someone who may not see the request still votes, so that the gate refuses and records it.
    const shown = await api.get<Shown>(path).catch((e) => {
      if (isAirclutchError(e) && !e.code.startsWith('SERVER_')) return undefined;
      throw e;
    });
    if (shown) printShown(shown, uiLinks(api.server.url));
    const paramsHash = opts.paramsHash ?? shown?.approval.params_hash;
    const dagVersion = opts.dagVersion ?? shown?.approval.dag_version;
    const res = await api.post<{
      approval: ApprovalView;
      approvals: number;
      quorum: number;
      runState: string;
    }>(`${path}/${name}`, {
      ...(opts.comment ? { comment: opts.comment } : {}),
      ...(paramsHash ? { paramsHash } : {}),
      ...(dagVersion ? { dagVersion } : {}),
    });
    process.stdout.write(
      `${name} recorded: ${res.approvals}/${res.quorum} approvals; request ${res.approval.state}; ${res.approval.run_id === null ? `${res.approval.action} of ${res.approval.env}/${res.approval.dag_id}${deliveryText(res.approval)}` : `run ${res.approval.run_id} ${res.runState}`}\n`,
    );
  });
}

export function approvalsCommand(): Command {
  const group = new Command('approvals').description('Approval requests: list them and vote');
  group.addCommand(
    clientOptions(
      new Command('list')
        .description(
          'Approval requests you can act on now (Cedar `approve`, never your own), then your own requests',
        )
        .option('--limit <n>', 'at most this many of each', '50')
        .option('--json', 'print JSON: { actionable, mine }, the API views, times as ISO strings'),
    ).action(async (opts: { limit: string; json?: boolean } & ClientFlags, cmd: Command) => {
      const limit = Number(opts.limit) || 50;
      const api = await apiClient(cmd, opts);
      const lists = await api.get<{ actionable: ApprovalView[]; mine: ApprovalView[] }>('/api/v1/approvals', {
        limit,
      });
      if (opts.json) {
        printJson(lists);
        return;
      }
      const links = uiLinks(api.server.url);
      process.stdout.write(`Waiting for you (vote in the browser at ${links.approvals()}):\n`);
      printTable(
        lists.actionable.map((a) => approvalRow(a, links)),
        false,
      );
      process.stdout.write('\nYour requests:\n');
      printTable(
        lists.mine.map((a) => approvalRow(a, links)),
        false,
      );
    }),
  );
  group.addCommand(voteCommand('approve', 'Approve a run that waits for approval'));
  group.addCommand(
    voteCommand('deny', 'Deny a run that waits for approval: one eligible denial ends the request'),
  );
  group.addCommand(voteCommand('review', 'Review a break-glass run after the fact'));
  return group;
}
