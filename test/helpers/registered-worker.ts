/** A spawned worker process, once it has registered in the `workers` table. */
import type { ChildProcess } from 'node:child_process';
import type { Db } from '../../src/store/create-db.ts';

export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The worker id it registered with. */
  readonly id: string;
  readonly exited: Promise<number | null>;
  output(): string;
}

/** Collects the child's output and resolves once its heartbeat row is in `workers` (or throws with the output). */
export async function registeredWorker(
  child: ChildProcess,
  db: Db,
  timeoutMs: number,
): Promise<WorkerProcess> {
  let out = '';
  child.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
  });
  child.stderr!.on('data', (b: Buffer) => {
    out += b.toString();
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const pid = child.pid!;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await db.kysely.selectFrom('workers').select('id').where('pid', '=', pid).executeTakeFirst();
    if (row) return { child, pid, id: row.id, exited, output: () => out };
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`worker did not start (exit ${child.exitCode}): ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
