/**
 * Real worker processes on a test PostgreSQL schema (test/fixtures/fleet-worker-child.ts), the
 * runs they take created as the gate creates them, and what their tasks did (side effects).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../src/engine/engine.ts';
import { servicePrincipal } from '../../src/identity/principal.ts';
import { fleetSource } from '../fixtures/fleet-worker-child.ts';
import { type DecidedRuns, decidedRuns } from './decided-runs.ts';
import { registeredWorker, type WorkerProcess } from './registered-worker.ts';
import { createTestDb, type TestDb } from './test-db.ts';

export type ChildWorker = WorkerProcess;

export interface FleetChildren {
  readonly db: TestDb;
  readonly effectsDir: string;
  readonly runs: DecidedRuns;
  readonly workers: ChildWorker[];
  spawn(o?: {
    concurrency?: number;
    queues?: string;
    limits?: string;
    leaseMs?: number;
    graceMs?: number;
  }): Promise<ChildWorker>;
  trigger(dagId: string): Promise<string>;
  /** Lines of `executions.log`: one per execution of a task body (at least once). */
  executions(): string[];
  /** The idempotent effects: one file per `ctx.idempotencyKey`. */
  effects(): string[];
  dispose(): Promise<void>;
}

export async function createFleetChildren(): Promise<FleetChildren> {
  const db = await createTestDb('postgres');
  const effectsDir = mkdtempSync(join(tmpdir(), 'airclutch-fleet-'));
  const runs = decidedRuns(db, new Engine({ db, dags: fleetSource() }));
  const workers: ChildWorker[] = [];
  const spawnWorker: FleetChildren['spawn'] = async (o = {}) => {
    const child = spawn(
      process.execPath,
      [
        'bin/run-ts.js',
        'test/fixtures/fleet-worker-child.ts',
        db.url,
        db.schema!,
        effectsDir,
        String(o.concurrency ?? 4),
        o.queues ?? 'default',
        o.limits ?? '-',
        String(o.leaseMs ?? 1_500),
        String(o.graceMs ?? 1_000),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const w = await registeredWorker(child, db, 90_000);
    workers.push(w);
    return w;
  };
  return {
    db,
    effectsDir,
    runs,
    workers,
    spawn: spawnWorker,
    trigger: async (dagId) =>
      (await runs.trigger({ env: 'dev', dagId, source: 'cli', principal: servicePrincipal('test') })).id,
    executions: () => {
      const f = join(effectsDir, 'executions.log');
      return existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n').filter(Boolean) : [];
    },
    effects: () => (existsSync(join(effectsDir, 'once')) ? readdirSync(join(effectsDir, 'once')) : []),
    async dispose() {
      for (const w of workers)
        if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      await Promise.all(workers.map((w) => w.exited));
      await db.close();
      rmSync(effectsDir, { recursive: true, force: true });
    },
  };
}
