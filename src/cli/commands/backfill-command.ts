/** `airclutch backfill DAG --from --to`: one run per schedule tick in a date range, each tick once. @module */
import { Command } from 'commander';
import { Engine } from '../../engine/engine.ts';
import { Scheduler } from '../../engine/scheduler.ts';
import { AirclutchError } from '../../lib/errors.ts';
import { configFor, loadRegistry, printTable, withStore } from '../cli-context.ts';
import { parseParamFlags } from '../parse-params.ts';

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

export function backfillCommand(): Command {
  return new Command('backfill')
    .description(
      'Create a run for every schedule tick of a DAG between two dates (ticks that already ran are skipped)',
    )
    .argument('<dag>', 'DAG id')
    .requiredOption('--from <date>', 'first date (inclusive), ISO 8601')
    .requiredOption('--to <date>', 'last date (inclusive), ISO 8601')
    .option('--env <env>', 'environment (default: the config’s defaultEnv)')
    .option('-p, --param <key=value>', 'a param for every run (repeatable)', collect, [])
    .option('--json', 'print JSON')
    .action(
      async (
        dagId: string,
        opts: { from: string; to: string; env?: string; param: string[]; json?: boolean },
        cmd: Command,
      ) => {
        const config = await configFor(cmd);
        const env = opts.env ?? config.defaultEnv;
        const registry = await loadRegistry(config, env);
        const { dag } = registry.get(env, dagId);
        const params = parseParamFlags(opts.param, dag.paramsJsonSchema, undefined);
        const results = await withStore(config, (db) => {
          const engine = new Engine({ db, dags: registry });
          const scheduler = new Scheduler({
            db,
            submitter: () => engine.submitter,
            listDags: () => registry.list(),
          });
          return scheduler.backfill(
            env,
            dagId,
            parseDate('--from', opts.from),
            parseDate('--to', opts.to),
            params,
          );
        });
        printTable(
          results.map((r) => ({
            logical_date: new Date(r.logicalDate).toISOString(),
            run: r.runId,
            outcome: r.outcome,
          })),
          opts.json,
        );
      },
    );
}
