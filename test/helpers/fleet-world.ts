/**
 * A fleet on real parts: a gate world on PostgreSQL (DAG files, policies, audit, gate) whose config
 * points at the same schema, and real `airclutch worker` processes spawned from the CLI.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createWorld, type World } from './gate-world.ts';

export interface FleetWorld extends World {
  readonly configPath: string;
  /** Spawns `airclutch worker`; resolves once its row is in `workers`. */
  spawnWorker(args?: readonly string[]): Promise<WorkerProcess>;
  readonly workers: WorkerProcess[];
}

export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The worker id it registered with. */
  readonly id: string;
  readonly exited: Promise<number | null>;
  output(): string;
}

export async function createFleetWorld(options: {
  files: Record<string, string>;
  engine?: string;
}): Promise<FleetWorld> {
  const world = await createWorld('postgres', { files: options.files });
  const schema = world.testDb.schema!;
  const url = `${world.testDb.url}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const configPath = join(world.dir, 'airclutch.config.yaml');
  world.write({
    'airclutch.config.yaml': [
      `databaseUrl: "${url}"`,
      'environments:',
      '  dev:',
      '    dags: [dags]',
      '    policies: [policies]',
      'engine:',
      '  shutdownGraceMs: 1000',
      ...(options.engine ?? '')
        .split('\n')
        .filter(Boolean)
        .map((l) => `  ${l}`),
      '',
    ].join('\n'),
  });
  const workers: WorkerProcess[] = [];
  const spawnWorker = async (args: readonly string[] = []): Promise<WorkerProcess> => {
    const child = spawn(process.execPath, ['bin/airclutch.js', '--config', configPath, 'worker', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stderr!.on('data', (b: Buffer) => {
      out += b.toString();
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const pid = child.pid!;
    const deadline = Date.now() + 45_000;
    for (;;) {
      const row = await world.db.kysely
        .selectFrom('workers')
        .select('id')
        .where('pid', '=', pid)
        .executeTakeFirst();
      if (row) {
        const w: WorkerProcess = { child, pid, id: row.id, exited, output: () => out };
        workers.push(w);
        return w;
      }
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`worker did not start (exit ${child.exitCode}): ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return {
    ...world,
    configPath,
    workers,
    spawnWorker,
    async dispose() {
      for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
      await Promise.all(workers.map((w) => w.exited));
      await world.dispose();
    },
  };
}
