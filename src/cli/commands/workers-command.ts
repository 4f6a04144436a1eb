/** `airclutch workers list`: the fleet's workers, their queues and load, from the server's API. @module */
import { Command } from 'commander';
import { apiClient, type ClientFlags, clientOptions } from '../api-client.ts';
import { printTable } from '../cli-context.ts';
import { isoCell, printJson } from '../json-view.ts';

interface WorkerView {
  id: string;
  host: string;
  pid: number;
  queues: string[];
  concurrency: number;
  running: number;
  startedAt: number;
  lastSeenAt: number;
  draining: boolean;
  live: boolean;
}

export function workersCommand(): Command {
  const workers = new Command('workers').description('Fleet workers: list them with their queues and load');
  workers.addCommand(
    clientOptions(
      new Command('list')
        .description('List the workers seen in the last five minutes: queues, load, last heartbeat')
        .option('--json', 'print JSON: the API view, times as ISO strings'),
    ).action(async (opts: { json?: boolean } & ClientFlags, cmd: Command) => {
      const api = await apiClient(cmd, opts);
      const { workers: list } = await api.get<{ workers: WorkerView[] }>('/api/v1/workers');
      if (opts.json) {
        printJson(list);
        return;
      }
      printTable(
        list.map((w) => ({
          worker: w.id,
          state: w.draining ? 'draining' : w.live ? 'live' : 'silent',
          queues: w.queues.join(','),
          load: `${w.running}/${w.concurrency}`,
          'last seen': isoCell(w.lastSeenAt),
        })),
        false,
      );
    }),
  );
  return workers;
}
