/** `airclutch trigger DAG --param k=v`: validates the params, queues a run, and optionally follows it. @module */
import { userInfo } from 'node:os';
import { Command } from 'commander';
import { Engine } from '../../engine/engine.ts';
import type { Principal } from '../../identity/principal.ts';
import { configFor, loadRegistry, withStore } from '../cli-context.ts';
import { followRun } from '../follow-run.ts';
import { parseParamFlags } from '../parse-params.ts';

const collect = (v: string, prev: string[]) => [...prev, v];

/** Until `airclutch login` and the gate land, the CLI acts as the local OS user. */
export function localPrincipal(): Principal {
  const name = userInfo().username;
  return { kind: 'user', id: name, groups: [], issuer: 'local', subject: name };
}

export function triggerCommand(): Command {
  return new Command('trigger')
    .description('Start a run of a DAG')
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
      '-w, --wait',
      'wait for the run to end, showing tasks as they complete; exit 1 unless it succeeds',
    )
    .option('--json', 'print the run as JSON')
    .action(
      async (
        dagId: string,
        opts: {
          env?: string;
          param: string[];
          paramsFile?: string;
          note?: string;
          wait?: boolean;
          json?: boolean;
        },
        cmd: Command,
      ) => {
        const config = await configFor(cmd);
        const env = opts.env ?? config.defaultEnv;
        const registry = await loadRegistry(config, env);
        const { dag } = registry.get(env, dagId);
        const params = parseParamFlags(opts.param, dag.paramsJsonSchema, opts.paramsFile);
        await withStore(config, async (db) => {
          const engine = new Engine({ db, dags: registry });
          const run = await engine.trigger({
            env,
            dagId,
            params,
            source: 'cli',
            principal: localPrincipal(),
            note: opts.note,
          });
          if (opts.json && !opts.wait) {
            process.stdout.write(`${JSON.stringify({ ...run, params: JSON.parse(run.params) }, null, 2)}\n`);
            return;
          }
          process.stdout.write(`run ${run.id} of ${env}/${dagId} queued\n`);
          if (!opts.wait) return;
          const state = await followRun(db, run.id, { progress: true });
          process.stdout.write(`run ${run.id} ${state}\n`);
          if (state !== 'success') process.exitCode = 1;
        });
      },
    );
}
