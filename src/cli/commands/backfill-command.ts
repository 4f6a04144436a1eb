/** `airclutch backfill DAG --from --to`: one run per schedule tick in a date range, each tick once, each through the gate. @module */
import { Command } from 'commander';
import { Scheduler } from '../../engine/scheduler.ts';
import { revealDag } from '../../gate/dag-visibility.ts';
import { AirclutchError } from '../../lib/errors.ts';
import { printTable } from '../cli-context.ts';
import { type IdentityFlags, identityOptions } from '../cli-principal.ts';
import { parseParamFlags } from '../parse-params.ts';
import { withGate } from '../with-gate.ts';

const collect = (v: string, prev: string[]) => [...prev, v];

function parseDate(flag: string, value: string): number {
  const t = Date.parse(value);
  if (Number.isNaN(t))
    throw new AirclutchError(
      'REQUEST_INVALID',
      `${flag} ${value} is not a date: use ISO 8601, e.g. 2026-11-01 or 2026-11-01T02:00:00Z`,
    );
  return t;
}

interface BackfillFlags extends IdentityFlags {
  from: string;
  to: string;
  env?: string;
  param: string[];
  json?: boolean;
}

export function backfillCommand(): Command {
  return identityOptions(
    new Command('backfill')
      .description(
        'Create a run for every schedule tick of a DAG between two dates, each decided by policy for you (ticks that already ran are skipped)',
      )
      .argument('<dag>', 'DAG id')
      .requiredOption('--from <date>', 'first date (inclusive), ISO 8601')
      .requiredOption('--to <date>', 'last date (inclusive), ISO 8601')
      .option('--env <env>', 'environment (default: the config’s defaultEnv)')
      .option('-p, --param <key=value>', 'a param for every run (repeatable)', collect, [])
      .option('--json', 'print JSON'),
  ).action(async (dagId: string, opts: BackfillFlags, cmd: Command) => {
    const from = parseDate('--from', opts.from);
    const to = parseDate('--to', opts.to);
    const results = await withGate(cmd, opts, 'trigger', async (ac, ctx, config) => {
      const env = opts.env ?? config.defaultEnv;
      const { dag } = await revealDag(ac.gate, ctx, 'trigger', env, dagId);
      const params = parseParamFlags(opts.param, dag.paramsJsonSchema, undefined);
      // Every tick goes through the gate as the caller: Cedar decides each run, and each is audited.
      const scheduler = new Scheduler({
        db: ac.db,
        submitter: () => ac.gate.submitterAs(ctx),
        listDags: () => ac.registry.list(),
      });
      return scheduler.backfill(env, dagId, from, to, params, ctx.principal);
    });
    printTable(
      results.map((r) => ({
        logical_date: new Date(r.logicalDate).toISOString(),
        run: r.runId,
        outcome: r.outcome,
      })),
      opts.json,
    );
    if (results.some((r) => r.outcome.startsWith('error'))) process.exitCode = 1;
  });
}
