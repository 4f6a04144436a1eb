/** `airclutch backfill DAG --from --to`: the server creates one run per schedule tick in a date range, each through the gate as the caller. @module */
import { Command } from 'commander';
import { AirclutchError } from '../../lib/errors.ts';
import { apiClient, type ClientFlags, clientOptions } from '../api-client.ts';
import type { DagView } from '../api-views.ts';
import { printTable } from '../cli-context.ts';
import { printJson } from '../json-view.ts';
import { parseParamFlags } from '../parse-params.ts';

const collect = (v: string, prev: string[]) => [...prev, v];

/** The server's default (src/engine/backfill-ticks.ts), repeated so the CLI loads nothing of the engine. */
const DEFAULT_MAX_TICKS = 100_000;

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new AirclutchError('REQUEST_INVALID', `--max-ticks takes a positive whole number, not "${value}"`);
  return n;
}

interface BackfillFlags extends ClientFlags {
  from: string;
  to: string;
  env?: string;
  param: string[];
  json?: boolean;
  maxTicks: number;
}

interface Tick {
  logical_date: number;
  run_id: string | null;
  outcome: string;
}

export function backfillCommand(): Command {
  return clientOptions(
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
        DEFAULT_MAX_TICKS,
      )
      .option('--env <env>', 'environment (default: the server’s default environment)')
      .option('-p, --param <key=value>', 'a param for every run (repeatable)', collect, [])
      .option('--json', 'print JSON: one { logical_date, run_id, outcome } per tick, times as ISO strings'),
  ).action(async (dagId: string, opts: BackfillFlags, cmd: Command) => {
    const api = await apiClient(cmd, opts);
    const path = `/api/v1/dags/${encodeURIComponent(dagId)}`;
    const dag = await api.get<DagView>(path, { env: opts.env });
    const params = parseParamFlags(opts.param, dag.paramsSchema, undefined);
    if (process.stderr.isTTY) {
      process.stderr.write(`backfilling ${dag.env}/${dagId} from ${opts.from} to ${opts.to}…\n`);
    }
    const { ticks } = await api.post<{ ticks: Tick[] }>(`${path}/backfill`, {
      from: opts.from,
      to: opts.to,
      params,
      maxTicks: opts.maxTicks,
      ...(opts.env ? { env: opts.env } : {}),
    });
    if (opts.json) printJson(ticks);
    else
      printTable(
        ticks.map((r) => ({
          logical_date: new Date(r.logical_date).toISOString(),
          run: r.run_id,
          outcome: r.outcome,
        })),
        false,
      );
    if (ticks.some((r) => r.outcome.startsWith('error'))) process.exitCode = 1;
  });
}
