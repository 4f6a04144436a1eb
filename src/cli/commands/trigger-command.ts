/** `airclutch trigger DAG --param k=v`: through the server's gate as the caller, optionally following the run. @module */
import { Command } from 'commander';
import { uiLinks } from '../../lib/ui-links.ts';
import { apiClient, type ClientFlags, clientOptions } from '../api-client.ts';
import type { ApprovalView, DagView, RunView } from '../api-views.ts';
import { printJson } from '../json-view.ts';
import { parseParamFlags } from '../parse-params.ts';
import { watchRun } from '../watch-run.ts';

const collect = (v: string, prev: string[]) => [...prev, v];

interface TriggerFlags extends ClientFlags {
  env?: string;
  param: string[];
  paramsFile?: string;
  note?: string;
  wait?: boolean;
  json?: boolean;
  breakGlass?: string;
}

interface TriggerAnswer {
  run: RunView;
  approval?: ApprovalView;
  decision?: { policies: string[]; reasons: string[] };
}

export function triggerCommand(): Command {
  return clientOptions(
    new Command('trigger')
      .description('Start a run of a DAG: it starts now, waits for approval, or is refused, as policy says')
      .argument('<dag>', 'DAG id')
      .option('--env <env>', 'environment (default: the server’s default environment)')
      .option(
        '-p, --param <key=value>',
        'a param (repeatable); values are read as JSON unless the schema says string',
        collect,
        [],
      )
      .option('--params-file <file>', 'params as a JSON or YAML object (flags override it)')
      .option('--note <text>', 'why this run is needed')
      .option(
        '--break-glass <reason>',
        'start now without approval (on-call; policy must allow breakGlass; reviewed afterwards)',
      )
      .option(
        '-w, --wait',
        'wait for the run to end, showing tasks as they complete (on a TTY); exit 1 unless it succeeds',
      )
      .option('--json', 'print the result as JSON: { run, approval?, decision }, times as ISO strings'),
  ).action(async (dagId: string, opts: TriggerFlags, cmd: Command) => {
    const api = await apiClient(cmd, opts);
    const dagPath = `/api/v1/dags/${encodeURIComponent(dagId)}`;
    // The params schema decides how `-p k=v` values are read (a string field keeps "007" a string).
    const dag = await api.get<DagView>(dagPath, { env: opts.env });
    const params = parseParamFlags(opts.param, dag.paramsSchema, opts.paramsFile);
    const body = {
      params,
      ...(opts.env ? { env: opts.env } : {}),
      ...(opts.note ? { note: opts.note } : {}),
    };
    const result = opts.breakGlass
      ? await api.post<TriggerAnswer>(`${dagPath}/break-glass`, { ...body, reason: opts.breakGlass })
      : await api.post<TriggerAnswer>(`${dagPath}/runs`, body);
    const where = `${result.run.env}/${dagId}`;
    const links = uiLinks(api.server.url);
    if (opts.json) printJson({ outcome: result.approval ? 'awaiting_approval' : 'started', ...result });
    else if (result.approval) {
      const a = result.approval;
      process.stdout.write(
        `run ${result.run.id} of ${where} awaits approval ${a.id} ` +
          `(${a.quorum} approver${a.quorum > 1 ? 's' : ''}, expires ${a.expires_at === null ? 'never' : new Date(a.expires_at).toISOString()})\n` +
          `  why: ${a.reason ?? 'policy requires approval'}\n` +
          `  open: ${links.run(result.run.id)} (approvers vote at ${links.approval(a)})\n`,
      );
    } else process.stdout.write(`run ${result.run.id} of ${where} queued: ${links.run(result.run.id)}\n`);
    if (!opts.wait) return;
    const state = await watchRun(api, result.run.id, opts.json ? { progress: false } : {});
    if (!opts.json) process.stdout.write(`run ${result.run.id} ${state}\n`);
    if (state !== 'success') process.exitCode = 1;
  });
}
