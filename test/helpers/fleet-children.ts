/**
 * Real worker processes on a test PostgreSQL schema (test/fixtures/fleet-worker-child.ts), the
 * runs they take created as the gate creates them, and what their tasks did (side effects).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../src/engine/engine.ts';
import { servicePrincipal } from '../../src/identity/principal.ts';
import { fleetSource } from '../fixtures/fleet-worker-child.ts';
import { type DecidedRuns, decidedRuns } from './decided-runs.ts';
import { createTestDb, type TestDb } from './test-db.ts';

export interface ChildWorker {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly id: string;
  readonly exited: Promise<number | null>;
  output(): string;
}

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
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stderr!.on('data', (b: Buffer) => {
      out += b.toString();
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const pid = child.pid!;
    const deadline = Date.now() + 90_000;
    for (;;) {
      const row = await db.kysely
        .selectFrom('workers')
        .select('id')
        .where('pid', '=', pid)
        .executeTakeFirst();
      if (row) {
        const w = { child, pid, id: row.id, exited, output: () => out };
        workers.push(w);
        return w;
      }
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`worker did not start (exit ${child.exitCode}): ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
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
