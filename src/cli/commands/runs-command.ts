/** `airclutch runs list|show|logs|cancel`: what ran, how each task ended, and its logs, from the server, as policy allows. @module */

import { Command } from 'commander';
import { RUN_STATES } from '../../engine/states.ts';
import { AirclutchError } from '../../lib/errors.ts';
import { uiLinks } from '../../lib/ui-links.ts';
import { apiClient, type ClientFlags, clientOptions } from '../api-client.ts';
import type { RunView, TaskView } from '../api-views.ts';
import { printTable } from '../cli-context.ts';
import type { HttpAnswer } from '../http-request.ts';
import { isoCell, printJson } from '../json-view.ts';

interface ListFlags extends ClientFlags {
  env?: string;
  dag?: string;
  state?: string;
  limit: string;
  json?: boolean;
}

const runPath = (id: string) => `/api/v1/runs/${encodeURIComponent(id)}`;

export function runsCommand(): Command {
  const runs = new Command('runs').description('Inspect runs, their tasks and logs');
  runs.addCommand(
    clientOptions(
      new Command('list')
        .description('Recent runs you may view, newest first')
        .option('--env <env>', 'only this environment')
        .option('--dag <dag>', 'only this DAG')
        .option('--state <state>', `only this state (${RUN_STATES.join(', ')})`)
        .option('--limit <n>', 'how many', '50')
        .option('--json', 'print JSON: the API view of each run, times as ISO strings'),
    ).action(async (opts: ListFlags, cmd: Command) => {
      if (opts.state && !(RUN_STATES as readonly string[]).includes(opts.state)) {
        throw new AirclutchError(
          'REQUEST_INVALID',
          `--state ${opts.state} is not a run state: use one of ${RUN_STATES.join(', ')}`,
        );
      }
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
        throw new AirclutchError(
          'REQUEST_INVALID',
          `--limit ${opts.limit} must be a whole number from 1 to 1000`,
        );
      }
      const api = await apiClient(cmd, opts);
      const { runs: rows } = await api.get<{ runs: RunView[] }>('/api/v1/runs', {
        env: opts.env,
        dag: opts.dag,
        state: opts.state,
        limit,
      });
      if (opts.json) {
        printJson(rows);
        return;
      }
      printTable(
        rows.map((r) => ({
          id: r.id,
          env: r.env,
          dag: r.dag_loaded ? r.dag_id : `${r.dag_id} (no longer loaded)`,
          state: r.state,
          source: r.source,
          by: r.requested_by,
          created: isoCell(r.created_at),
          ended: isoCell(r.ended_at),
        })),
        false,
      );
    }),
  );
  runs.addCommand(
    clientOptions(
      new Command('show')
        .description('One run and its tasks')
        .argument('<run>', 'run id')
        .option('--json', 'print JSON: { run, tasks }, the API views, times as ISO strings'),
    ).action(async (runId: string, opts: { json?: boolean } & ClientFlags, cmd: Command) => {
      const api = await apiClient(cmd, opts);
      const { run, tasks } = await api.get<{ run: RunView; tasks: TaskView[] }>(runPath(runId));
      if (opts.json) {
        printJson({ run, tasks });
        return;
      }
      process.stdout.write(
        `run ${run.id}  ${run.env}/${run.dag_id}  ${run.state}\n` +
          (run.dag_loaded
            ? ''
            : '  DAG no longer loaded: its file was removed, renamed or fails to load (see `airclutch dags list`)\n') +
          `  requested by ${run.requested_by_kind}:${run.requested_by} via ${run.source} at ${isoCell(run.created_at)}\n` +
          `  params ${JSON.stringify(run.params)}\n${run.error ? `  error: ${run.error}\n` : ''}` +
          `  open: ${uiLinks(api.server.url).run(run.id)}\n\n`,
      );
      printTable(
        tasks.map((t) => ({
          task: t.task_id,
          state: t.state,
          tries: `${t.try_number}/${t.max_tries}`,
          error: t.error,
        })),
        false,
      );
    }),
  );
  runs.addCommand(
    clientOptions(
      new Command('logs')
        .description('The logs of a run, or of one of its tasks (policy must allow readLogs)')
        .argument('<run>', 'run id')
        .argument('[task]', 'task id')
        .option('-f, --follow', 'keep printing new lines until the run ends'),
    ).action(
      async (
        runId: string,
        taskId: string | undefined,
        opts: { follow?: boolean } & ClientFlags,
        cmd: Command,
      ) => {
        const api = await apiClient(cmd, opts);
        const res = await api.stream(`${runPath(runId)}/logs`, {
          task: taskId,
          follow: opts.follow ? '1' : undefined,
          format: 'ndjson',
        });
        await printLogLines(res);
      },
    ),
  );
  runs.addCommand(
    clientOptions(
      new Command('cancel')
        .description('Cancel a queued or running run (policy must allow cancel)')
        .argument('<run>', 'run id'),
    )
      .option('--reason <text>', 'why, kept in the audit trail')
      .action(async (runId: string, opts: { reason?: string } & ClientFlags, cmd: Command) => {
        const api = await apiClient(cmd, opts);
        const { run } = await api.post<{ run: RunView }>(
          `${runPath(runId)}/cancel`,
          opts.reason ? { reason: opts.reason } : {},
        );
        if (run.state !== 'cancelled') {
          throw new AirclutchError(
            'STATE_CONFLICT',
            `run ${runId} is already ${run.state}; only queued or running runs can be cancelled`,
          );
        }
        process.stdout.write(`run ${runId} cancelled\n`);
      }),
  );
  return runs;
}

/** Prints NDJSON log lines as `[task#try] line` while they stream in. */
async function printLogLines(res: HttpAnswer): Promise<void> {
  const decoder = new TextDecoder();
  let pending = '';
  const print = (text: string) => {
    if (!text.trim()) return;
    const l = JSON.parse(text) as { type?: string; task_id: string; try_number: number; line: string };
    if (l.type !== 'log') return;
    process.stdout.write(`[${l.task_id}#${l.try_number}] ${l.line}\n`);
  };
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    pending += decoder.decode(chunk, { stream: true });
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) print(line);
  }
  print(pending);
}
