/** `airclutch runs list|show|logs|cancel`: what ran, how each task ended, and its logs, as policy allows. @module */

import { Command } from 'commander';
import { RUN_STATES, type RunState } from '../../engine/states.ts';
import { allowedRun, cancelRunFor, getRunFor, listRunsFor, readLogsFor } from '../../gate/gate-reads.ts';
import { AirclutchError } from '../../lib/errors.ts';
import { printTable } from '../cli-context.ts';
import { type IdentityFlags, identityOptions } from '../cli-principal.ts';
import { followRun } from '../follow-run.ts';
import { withGate } from '../with-gate.ts';

interface ListFlags extends IdentityFlags {
  env?: string;
  dag?: string;
  state?: string;
  limit: string;
  json?: boolean;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function runsCommand(): Command {
  const runs = new Command('runs').description('Inspect runs, their tasks and logs');
  runs.addCommand(
    identityOptions(
      new Command('list')
        .description('Recent runs you may view, newest first')
        .option('--env <env>', 'only this environment')
        .option('--dag <dag>', 'only this DAG')
        .option('--state <state>', `only this state (${RUN_STATES.join(', ')})`)
        .option('--limit <n>', 'how many', '50')
        .option('--json', 'print JSON'),
    ).action(async (opts: ListFlags, cmd: Command) => {
      if (opts.state && !RUN_STATES.includes(opts.state as RunState)) {
        throw new AirclutchError(
          'REQUEST_INVALID',
          `--state ${opts.state} is not a run state: use one of ${RUN_STATES.join(', ')}`,
        );
      }
      const filter = {
        env: opts.env,
        dagId: opts.dag,
        state: opts.state as RunState | undefined,
        limit: Number(opts.limit),
      };
      const rows = await withGate(cmd, opts, 'view', (ac, ctx) => listRunsFor(ac.gate, ctx, filter));
      printTable(
        rows.map((r) => ({
          id: r.id,
          env: r.env,
          dag: r.dag_loaded || opts.json ? r.dag_id : `${r.dag_id} (no longer loaded)`,
          state: r.state,
          source: r.source,
          by: r.requested_by,
          created: iso(r.created_at),
          ended: iso(r.ended_at),
          ...(opts.json ? { params: r.params, error: r.error, dag_loaded: r.dag_loaded } : {}),
        })),
        opts.json,
      );
    }),
  );
  runs.addCommand(
    identityOptions(
      new Command('show')
        .description('One run and its tasks')
        .argument('<run>', 'run id')
        .option('--json', 'print JSON'),
    ).action(async (runId: string, opts: { json?: boolean } & IdentityFlags, cmd: Command) => {
      const { run, tasks } = await withGate(cmd, opts, 'view', (ac, ctx) => getRunFor(ac.gate, ctx, runId));
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ run, tasks }, null, 2)}\n`);
        return;
      }
      process.stdout.write(
        `run ${run.id}  ${run.env}/${run.dag_id}  ${run.state}\n` +
          (run.dag_loaded
            ? ''
            : '  DAG no longer loaded: its file was removed, renamed or fails to load (see `airclutch dags list`)\n') +
          `  requested by ${run.requested_by_kind}:${run.requested_by} via ${run.source} at ${iso(run.created_at)}\n` +
          `  params ${JSON.stringify(run.params)}\n${run.error ? `  error: ${run.error}\n` : ''}\n`,
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
    identityOptions(
      new Command('logs')
        .description('The logs of a run, or of one of its tasks (policy must allow readLogs)')
        .argument('<run>', 'run id')
        .argument('[task]', 'task id')
        .option('-f, --follow', 'keep printing new lines until the run ends'),
    ).action(
      async (
        runId: string,
        taskId: string | undefined,
        opts: { follow?: boolean } & IdentityFlags,
        cmd: Command,
      ) => {
        await withGate(cmd, opts, 'readLogs', async (ac, ctx) => {
          if (opts.follow) {
            await allowedRun(ac.gate, ctx, runId, 'readLogs');
            await followRun(ac.db, runId, { logs: true, taskId });
            return;
          }
          for (const l of await readLogsFor(ac.gate, ctx, runId, { taskId, limit: 1_000_000 })) {
            process.stdout.write(`[${l.task_id}#${l.try_number}] ${l.line}\n`);
          }
        });
      },
    ),
  );
  runs.addCommand(
    identityOptions(
      new Command('cancel')
        .description('Cancel a queued or running run (policy must allow cancel)')
        .argument('<run>', 'run id'),
    )
      .option('--reason <text>', 'why, kept in the audit trail')
      .action(async (runId: string, opts: { reason?: string } & IdentityFlags, cmd: Command) => {
        const run = await withGate(cmd, opts, 'cancel', (ac, ctx) =>
          cancelRunFor(ac.gate, ctx, runId, opts.reason),
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
