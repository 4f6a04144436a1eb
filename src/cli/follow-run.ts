/** Follows a run from the store, printing each task as it changes state, until the run ends. @module */

import { getRun, readLogs } from '../engine/sql/read-runs.ts';
import { isFinalRunState, type RunState } from '../engine/states.ts';
import type { Db } from '../store/create-db.ts';

export interface FollowOptions {
  /** Print task transitions as they happen. */
  progress?: boolean;
  /** Print log lines as they arrive (optionally of one task). */
  logs?: boolean;
  taskId?: string | undefined;
  intervalMs?: number;
  out?: NodeJS.WritableStream;
}

/** Resolves with the run's final state. */
export async function followRun(db: Db, runId: string, options: FollowOptions = {}): Promise<RunState> {
  const out = options.out ?? process.stdout;
  const seen = new Map<string, string>();
  let logCursor = 0;
  let queuedSince: number | undefined;
  for (;;) {
    const { run, tasks } = await getRun(db.kysely, runId);
    if (options.progress) {
      for (const t of tasks) {
        const key = `${t.state}:${t.try_number}`;
        if (seen.get(t.task_id) === key || t.state === 'pending') continue;
        seen.set(t.task_id, key);
        const tries = t.try_number > 1 ? ` (try ${t.try_number})` : '';
        out.write(`  ${t.task_id.padEnd(24)} ${t.state}${tries}${t.error ? `: ${t.error}` : ''}\n`);
      }
    }
    if (options.logs) {
      for (const l of await readLogs(db.kysely, runId, { taskId: options.taskId, afterId: logCursor })) {
        out.write(`[${l.task_id}#${l.try_number}] ${l.line}\n`);
        logCursor = l.id;
      }
    }
    if (isFinalRunState(run.state)) return run.state;
    if (run.state === 'queued') {
      queuedSince ??= Date.now();
      if (Date.now() - queuedSince > 5_000) {
        out.write('  (still queued: is `airclutch dev` or `airclutch server` running against this store?)\n');
        queuedSince = Number.POSITIVE_INFINITY;
      }
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 250));
  }
}
