/** `airclutch airflow pause|unpause|clear`: the Airflow bridge's own actions, asked of the server, each through its gate. @module */
import { Command } from 'commander';
import { uiLinks } from '../../lib/ui-links.ts';
import { apiClient, type ClientFlags, clientOptions } from '../api-client.ts';

/** A pause or unpause done now, or an unpause that waits for approval. */
type PauseAnswer =
  | { outcome: 'done'; env: string; dagId: string; paused: boolean }
  | {
      outcome: 'awaiting_approval';
      approval: { id: string; env: string; dag_id: string; quorum: number; expires_at: number | null };
    };

const dagPath = (dagId: string, verb: string) => `/api/v1/dags/${encodeURIComponent(dagId)}/${verb}`;

export function airflowCommand(): Command {
  const airflow = new Command('airflow').description(
    'Airflow-backed DAGs: pause, unpause, clear a failed task',
  );
  for (const [verb, paused] of [
    ['pause', true],
    ['unpause', false],
  ] as const) {
    airflow.addCommand(
      clientOptions(
        new Command(verb)
          .description(
            paused
              ? 'Pause an Airflow DAG (policy must allow pause)'
              : 'Unpause an Airflow DAG: its schedule starts (policy must allow unpause)',
          )
          .argument('<dag>', 'DAG id')
          .option('--env <env>', 'environment (default: the server’s default environment)')
          .option('--reason <text>', 'why: kept in the audit trail and shown to approvers'),
      ).action(async (dagId: string, opts: { env?: string; reason?: string } & ClientFlags, cmd: Command) => {
        const api = await apiClient(cmd, opts);
        const r = await api.post<PauseAnswer>(dagPath(dagId, verb), {
          ...(opts.env ? { env: opts.env } : {}),
          ...(opts.reason ? { reason: opts.reason } : {}),
        });
        if (r.outcome === 'awaiting_approval') {
          const { approval } = r;
          process.stdout.write(
            `unpause of ${approval.env}/${approval.dag_id} needs approval: request ${approval.id} (${approval.quorum} approval${approval.quorum === 1 ? '' : 's'} needed, expires ${new Date(approval.expires_at ?? 0).toISOString()}); it stays paused until approved (airclutch approvals approve ${approval.id})\n` +
              `  open: ${uiLinks(api.server.url).approval(approval)}\n`,
          );
          return;
        }
        process.stdout.write(`${r.env}/${r.dagId} ${r.paused ? 'paused' : 'unpaused'} in Airflow\n`);
      }),
    );
  }
  airflow.addCommand(
    clientOptions(
      new Command('clear')
        .description(
          'Clear a failed task of a remote run so Airflow runs it again (policy must allow clearTask)',
        )
        .argument('<run>', 'run id')
        .argument('<task>', 'task id'),
    ).action(async (runId: string, taskId: string, opts: ClientFlags, cmd: Command) => {
      const api = await apiClient(cmd, opts);
      const r = await api.post<{ runId: string; cleared: string[] }>(
        `/api/v1/runs/${encodeURIComponent(runId)}/tasks/${encodeURIComponent(taskId)}/clear`,
        {},
      );
      process.stdout.write(
        `cleared ${r.cleared.join(', ') || '(nothing)'} in run ${r.runId}; Airflow runs it again\n`,
      );
    }),
  );
  return airflow;
}
