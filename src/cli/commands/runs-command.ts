/** `airclutch runs list|show|logs|cancel`: what ran, how each task ended, and its logs. @module */

import { randomUUID } from 'node:crypto';
import { Command } from 'commander';
import { createAirclutch } from '../../app/create-airclutch.ts';
import { getRun, listRuns, readLogs } from '../../engine/sql/read-runs.ts';
import { RUN_STATES, type RunState } from '../../engine/states.ts';
import { cancelRunFor } from '../../gate/gate-reads.ts';
import { AirclutchError } from '../../lib/errors.ts';
import { configFor, printTable, withStore } from '../cli-context.ts';
import { cliPrincipal, identityOptions } from '../cli-principal.ts';
import { followRun } from '../follow-run.ts';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function runsCommand(): Command {
  const runs = new Command('runs').description('Inspect runs, their tasks and logs');
  runs
    .command('list')
    .description('Recent runs, newest first')
    .option('--env <env>', 'only this environment')
    .option('--dag <dag>', 'only this DAG')
    .option('--state <state>', `only this state (${RUN_STATES.join(', ')})`)
    .option('--limit <n>', 'how many', '50')
    .option('--json', 'print JSON')
    .action(
      async (
        opts: { env?: string; dag?: string; state?: string; limit: string; json?: boolean },
        cmd: Command,
      ) => {
        if (opts.state && !RUN_STATES.includes(opts.state as RunState)) {
          throw new AirclutchError(
            'REQUEST_INVALID',
            `--state ${opts.state} is not a run state: use one of ${RUN_STATES.join(', ')}`,
          );
        }
        const config = await configFor(cmd);
        const rows = await withStore(config, (db) =>
          listRuns(db.kysely, {
            env: opts.env,
            dagId: opts.dag,
            state: opts.state as RunState | undefined,
            limit: Number(opts.limit),
          }),
        );
        printTable(
          rows.map((r) => ({
            id: r.id,
            env: r.env,
            dag: r.dag_id,
            state: r.state,
            source: r.source,
            by: r.requested_by,
            created: iso(r.created_at),
            ended: iso(r.ended_at),
            ...(opts.json ? { params: JSON.parse(r.params), error: r.error } : {}),
          })),
          opts.json,
        );
      },
    );
  runs
    .command('show')
    .description('One run and its tasks')
    .argument('<run>', 'run id')
    .option('--json', 'print JSON')
    .action(async (runId: string, opts: { json?: boolean }, cmd: Command) => {
      const config = await configFor(cmd);
      const { run, tasks } = await withStore(config, (db) => getRun(db.kysely, runId));
      if (opts.json) {
        process.stdout.write(
          `${JSON.stringify({ run: { ...run, params: JSON.parse(run.params) }, tasks }, null, 2)}\n`,
        );
        return;
      }
      process.stdout.write(
        `run ${run.id}  ${run.env}/${run.dag_id}  ${run.state}\n` +
          `  requested by ${run.requested_by_kind}:${run.requested_by} via ${run.source} at ${iso(run.created_at)}\n` +
          `  params ${run.params}\n${run.error ? `  error: ${run.error}\n` : ''}\n`,
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
    });
  runs
    .command('logs')
    .description('The logs of a run, or of one of its tasks')
    .argument('<run>', 'run id')
    .argument('[task]', 'task id')
    .option('-f, --follow', 'keep printing new lines until the run ends')
    .action(async (runId: string, taskId: string | undefined, opts: { follow?: boolean }, cmd: Command) => {
      const config = await configFor(cmd);
      await withStore(config, async (db) => {
        if (opts.follow) {
          await followRun(db, runId, { logs: true, taskId });
          return;
        }
        await getRun(db.kysely, runId);
        for (const l of await readLogs(db.kysely, runId, { taskId, limit: 1_000_000 })) {
          process.stdout.write(`[${l.task_id}#${l.try_number}] ${l.line}\n`);
        }
      });
    });
  runs.addCommand(
    identityOptions(
      new Command('cancel')
        .description('Cancel a queued or running run (policy must allow cancel)')
        .argument('<run>', 'run id'),
    )
      .option('--reason <text>', 'why, kept in the audit trail')
      .action(async (runId: string, opts: { reason?: string; token?: string; as?: string }, cmd: Command) => {
        const config = await configFor(cmd);
        const principal = await cliPrincipal(config, opts, 'cancel');
        const ac = await createAirclutch(config);
        try {
          const run = await cancelRunFor(
            ac.gate,
            { principal, source: 'cli', requestId: randomUUID() },
            runId,
            opts.reason,
          );
          if (run.state !== 'cancelled') {
            throw new AirclutchError(
              'STATE_CONFLICT',
              `run ${runId} is already ${run.state}; only queued or running runs can be cancelled`,
            );
          }
          process.stdout.write(`run ${runId} cancelled\n`);
        } finally {
          await ac.close();
        }
      }),
  );
  return runs;
}
