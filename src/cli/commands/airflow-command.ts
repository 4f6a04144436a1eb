/** `airclutch airflow pause|unpause|clear`: the Airflow bridge's own actions, each through the gate. @module */
import { Command } from 'commander';
import { clearTaskFor, setPausedFor } from '../../airflow/airflow-actions.ts';
import type { Airclutch } from '../../app/create-airclutch.ts';
import { AirclutchError } from '../../lib/errors.ts';
import { type IdentityFlags, identityOptions } from '../cli-principal.ts';
import { withGate } from '../with-gate.ts';

function bridgeOf(ac: Airclutch) {
  if (!ac.airflow) {
    throw new AirclutchError(
      'REQUEST_INVALID',
      'no environment has an airflow block in the config (see docs/airflow.md)',
    );
  }
  return ac.airflow.deps;
}

export function airflowCommand(): Command {
  const airflow = new Command('airflow').description(
    'Airflow-backed DAGs: pause, unpause, clear a failed task',
  );
  for (const [verb, paused] of [
    ['pause', true],
    ['unpause', false],
  ] as const) {
    airflow.addCommand(
      identityOptions(
        new Command(verb)
          .description(
            paused
              ? 'Pause an Airflow DAG (policy must allow pause)'
              : 'Unpause an Airflow DAG: its schedule starts (policy must allow unpause)',
          )
          .argument('<dag>', 'DAG id')
          .option('--env <env>', 'environment (default: the default environment)'),
      ).action(async (dagId: string, opts: { env?: string } & IdentityFlags, cmd: Command) => {
        const r = await withGate(cmd, opts, paused ? 'cancel' : 'trigger', (ac, ctx) =>
          setPausedFor(bridgeOf(ac), ctx, opts.env ?? ac.config.defaultEnv, dagId, paused),
        );
        if (r.outcome === 'awaiting_approval') {
          console.log(
            `unpause of ${r.env}/${r.dagId} needs approval: request ${r.approval.id} (${r.approval.quorum} approval${r.approval.quorum === 1 ? '' : 's'} needed, expires ${new Date(r.approval.expires_at ?? 0).toISOString()}); it stays paused until approved (airclutch approvals approve ${r.approval.id})`,
          );
          return;
        }
        console.log(`${r.env}/${r.dagId} ${r.paused ? 'paused' : 'unpaused'} in Airflow`);
      }),
    );
  }
  airflow.addCommand(
    identityOptions(
      new Command('clear')
        .description(
          'Clear a failed task of a remote run so Airflow runs it again (policy must allow clearTask)',
        )
        .argument('<run>', 'run id')
        .argument('<task>', 'task id'),
    ).action(async (runId: string, taskId: string, opts: IdentityFlags, cmd: Command) => {
      const r = await withGate(cmd, opts, 'trigger', (ac, ctx) =>
        clearTaskFor(bridgeOf(ac), ctx, runId, taskId),
      );
      console.log(`cleared ${r.cleared.join(', ') || '(nothing)'} in run ${r.runId}; Airflow runs it again`);
    }),
  );
  return airflow;
}
