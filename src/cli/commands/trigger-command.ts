/** `airclutch trigger DAG --param k=v`: through the gate as the signed-in identity, optionally following the run. @module */
import { Command } from 'commander';
import { revealDag } from '../../gate/dag-visibility.ts';
import { type IdentityFlags, identityOptions } from '../cli-principal.ts';
import { followRun } from '../follow-run.ts';
import { parseParamFlags } from '../parse-params.ts';
import { withGate } from '../with-gate.ts';

const collect = (v: string, prev: string[]) => [...prev, v];

interface TriggerFlags extends IdentityFlags {
  env?: string;
  param: string[];
  paramsFile?: string;
  note?: string;
  wait?: boolean;
  json?: boolean;
  breakGlass?: string;
}

export function triggerCommand(): Command {
  return identityOptions(
    new Command('trigger')
      .description('Start a run of a DAG: it starts now, waits for approval, or is refused, as policy says')
      .argument('<dag>', 'DAG id')
      .option('--env <env>', 'environment (default: the config’s defaultEnv)')
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
        'wait for the run to end, showing tasks as they complete; exit 1 unless it succeeds',
      )
      .option('--json', 'print the result as JSON'),
  ).action((dagId: string, opts: TriggerFlags, cmd: Command) =>
    withGate(cmd, opts, opts.breakGlass ? 'breakGlass' : 'trigger', async (ac, ctx, config) => {
      const env = opts.env ?? config.defaultEnv;
      const { dag } = await revealDag(ac.gate, ctx, opts.breakGlass ? 'breakGlass' : 'trigger', env, dagId);
      const params = parseParamFlags(opts.param, dag.paramsJsonSchema, opts.paramsFile);
      const input = { env, dagId, params, note: opts.note };
      const result = opts.breakGlass
        ? {
            outcome: 'started' as const,
            ...(await ac.gate.breakGlass(ctx, { ...input, reason: opts.breakGlass })),
          }
        : await ac.gate.trigger(ctx, input);
      if (opts.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else if (result.outcome === 'awaiting_approval' && 'approval' in result) {
        process.stdout.write(
          `run ${result.run.id} of ${env}/${dagId} awaits approval ${result.approval.id} ` +
            `(${result.approval.quorum} approver${result.approval.quorum > 1 ? 's' : ''}, expires ${new Date(result.approval.expires_at!).toISOString()})\n` +
            `  why: ${result.approval.reason ?? 'policy requires approval'}\n`,
        );
      } else process.stdout.write(`run ${result.run.id} of ${env}/${dagId} queued\n`);
      if (!opts.wait) return;
      const state = await followRun(ac.db, result.run.id, { progress: !opts.json });
      if (!opts.json) process.stdout.write(`run ${result.run.id} ${state}\n`);
      if (state !== 'success') process.exitCode = 1;
    }),
  );
}
