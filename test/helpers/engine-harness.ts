/** Starts a real engine on a real test store, and reads back what it recorded. */
import type { dag as defineDag } from '../../src/dag/dag.ts';
import { Engine, type EngineOptions } from '../../src/engine/engine.ts';
import type { RunRequest } from '../../src/engine/engine-types.ts';
import { StaticDagSource } from '../../src/engine/static-dag-source.ts';
import { servicePrincipal } from '../../src/identity/principal.ts';
import type { DialectName } from '../../src/store/create-db.ts';
import { type DecidedRuns, decidedRuns } from './decided-runs.ts';
import { createTestDb, type TestDb } from './test-db.ts';

export interface Harness {
  db: TestDb;
  engine: Engine;
  /** Creates and cancels runs the way the gate does (with a decision record). */
  runs: DecidedRuns;
  run(dagId: string, params?: unknown, extra?: Partial<RunRequest>): Promise<string>;
  runAndWait(dagId: string, params?: unknown): Promise<{ runId: string; state: string }>;
  tasks(
    runId: string,
  ): Promise<Record<string, { state: string; try_number: number; error: string | null; output: unknown }>>;
  attempts(
    runId: string,
    taskId?: string,
  ): Promise<
    Array<{
      task_id: string;
      try_number: number;
      state: string;
      error: string | null;
      started_at: number;
      ended_at: number | null;
    }>
  >;
  logs(runId: string, taskId?: string): Promise<string[]>;
  close(): Promise<void>;
}

export const principal = servicePrincipal('test');

export async function startHarness(
  dialect: DialectName,
  dags: ReturnType<typeof defineDag<any>>[],
  options: Partial<EngineOptions> = {},
): Promise<Harness> {
  const db = await createTestDb(dialect);
  const engine = new Engine({ db, dags: new StaticDagSource(dags), pollIntervalMs: 50, ...options });
  engine.on('error', (e) => {
    throw e;
  });
  const runs = decidedRuns(db, engine);
  engine.setSubmitter(runs.submitter);
  await engine.start();
  const h: Harness = {
    db,
    engine,
    runs,
    async run(dagId, params, extra) {
      const run = await runs.trigger({ env: 'dev', dagId, params, source: 'api', principal, ...extra });
      return run.id;
    },
    async runAndWait(dagId, params) {
      const runId = await h.run(dagId, params);
      return { runId, state: await engine.waitForRun(runId) };
    },
    async tasks(runId) {
      const rows = await db.kysely
        .selectFrom('task_instances')
        .selectAll()
        .where('run_id', '=', runId)
        .execute();
      return Object.fromEntries(
        rows.map((r) => [
          r.task_id,
          {
            state: r.state,
            try_number: r.try_number,
            error: r.error,
            output: r.output === null ? null : JSON.parse(r.output),
          },
        ]),
      );
    },
    async attempts(runId, taskId) {
      let q = db.kysely.selectFrom('attempts').selectAll().where('run_id', '=', runId);
      if (taskId) q = q.where('task_id', '=', taskId);
      return q.orderBy('id').execute();
    },
    async logs(runId, taskId) {
      let q = db.kysely.selectFrom('task_logs').select('line').where('run_id', '=', runId);
      if (taskId) q = q.where('task_id', '=', taskId);
      return (await q.orderBy('id').execute()).map((r) => r.line);
    },
    async close() {
      await engine.stop(1_000);
      await db.close();
    },
  };
  return h;
}
