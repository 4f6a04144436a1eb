/**
 * A fleet on real parts: a gate world on PostgreSQL (DAG files, policies, audit, gate) whose config
 * points at the same schema, and real `airclutch worker` processes spawned from the CLI.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createWorld, type World } from './gate-world.ts';
import { registeredWorker, type WorkerProcess } from './registered-worker.ts';

export type { WorkerProcess };

export interface FleetWorld extends World {
  readonly configPath: string;
  /** Spawns `airclutch worker`; resolves once its row is in `workers`. */
  spawnWorker(args?: readonly string[]): Promise<WorkerProcess>;
  readonly workers: WorkerProcess[];
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
    const w = await registeredWorker(child, world.db, 45_000);
    workers.push(w);
    return w;
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
