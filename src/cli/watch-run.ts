/** Waits for a run through the API, printing each task as it changes state (on a TTY only). @module */
import type { ApiClient } from './api-client.ts';
import { FINAL_RUN_STATES, type RunView, type TaskView } from './api-views.ts';

export interface WatchOptions {
  /** Print task transitions as they happen; default: only when stdout is a TTY. */
  progress?: boolean;
  intervalMs?: number;
}

/** Resolves with the run's final state. */
export async function watchRun(api: ApiClient, runId: string, options: WatchOptions = {}): Promise<string> {
  const progress = options.progress ?? process.stdout.isTTY === true;
  const seen = new Map<string, string>();
  let queuedSince: number | undefined;
  for (;;) {
    const { run, tasks } = await api.get<{ run: RunView; tasks: TaskView[] }>(
      `/api/v1/runs/${encodeURIComponent(runId)}`,
    );
    if (progress) {
      for (const t of tasks) {
        const key = `${t.state}:${t.try_number}`;
        if (seen.get(t.task_id) === key || t.state === 'pending') continue;
        seen.set(t.task_id, key);
        const tries = t.try_number > 1 ? ` (try ${t.try_number})` : '';
        process.stdout.write(
          `  ${t.task_id.padEnd(24)} ${t.state}${tries}${t.error ? `: ${t.error}` : ''}\n`,
        );
      }
      if (run.state === 'queued') {
        queuedSince ??= Date.now();
        if (Date.now() - queuedSince > 5_000) {
          process.stdout.write('  (still queued: waiting for a free slot on the server)\n');
          queuedSince = Number.POSITIVE_INFINITY;
        }
      }
    }
    if (FINAL_RUN_STATES.has(run.state)) return run.state;
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 500));
  }
}
