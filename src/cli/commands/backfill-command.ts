/** `airclutch backfill DAG --from --to`: one run per schedule tick in a date range, each tick once, each through the gate. @module */
import { Command } from 'commander';
import { DEFAULT_MAX_BACKFILL_TICKS } from '../../engine/backfill-ticks.ts';
import { Scheduler } from '../../engine/scheduler.ts';
import { revealDag } from '../../gate/dag-visibility.ts';
import { AirclutchError } from '../../lib/errors.ts';
import { backfillRange } from '../backfill-bounds.ts';
import { printTable } from '../cli-context.ts';
import { type IdentityFlags, identityOptions } from '../cli-principal.ts';
import { parseParamFlags } from '../parse-params.ts';
import { withGate } from '../with-gate.ts';

const collect = (v: string, prev: string[]) => [...prev, v];

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new AirclutchError('REQUEST_INVALID', `--max-ticks takes a positive whole number, not "${value}"`);
  return n;
}

interface BackfillFlags extends IdentityFlags {
  from: string;
  to: string;
  env?: string;
  param: string[];
  json?: boolean;
  maxTicks: number;
}

export function backfillCommand(): Command {
  return identityOptions(
    new Command('backfill')
      .description(
        'Create a run for every schedule tick of a DAG between two dates, each decided by policy for you (ticks that already ran are skipped)',
      )
      .argument('<dag>', 'DAG id')
      .requiredOption('--from <date>', 'first day (inclusive) in the DAG’s time zone, or an ISO 8601 time')
      .requiredOption('--to <date>', 'last day (inclusive) in the DAG’s time zone, or an ISO 8601 time')
      .option(
        '--max-ticks <n>',
        'refuse, before creating any run, a range with more ticks than this',
        positiveInt,
        DEFAULT_MAX_BACKFILL_TICKS,
      )
      .option('--env <env>', 'environment (default: the config’s defaultEnv)')
      .option('-p, --param <key=value>', 'a param for every run (repeatable)', collect, [])
      .option('--json', 'print JSON'),
  ).action(async (dagId: string, opts: BackfillFlags, cmd: Command) => {
    const results = await withGate(cmd, opts, 'trigger', async (ac, ctx, config) => {
      const env = opts.env ?? config.defaultEnv;
      const { dag } = await revealDag(ac.gate, ctx, 'trigger', env, dagId);
      const { from, to } = backfillRange(opts.from, opts.to, dag.options.timezone);
      const params = parseParamFlags(opts.param, dag.paramsJsonSchema, undefined);
      // Every tick goes through the gate as the caller: Cedar decides each run, and each is audited.
      const scheduler = new Scheduler({
        db: ac.db,
        submitter: () => ac.gate.submitterAs(ctx),
        listDags: () => ac.registry.list(),
      });
      return scheduler.backfill(env, dagId, from, to, params, ctx.principal, { maxTicks: opts.maxTicks });
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
