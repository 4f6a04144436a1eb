import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dag } from '../../src/dag/dag.ts';
import * as embed from '../../src/embed.ts';
import { Engine } from '../../src/engine/engine.ts';
import { insertRun } from '../../src/engine/sql/insert-run.ts';
import { StaticDagSource } from '../../src/engine/static-dag-source.ts';
import { voteOnApproval } from '../../src/gate/vote.ts';
import { servicePrincipal } from '../../src/identity/principal.ts';
import { decidedRuns } from '../helpers/decided-runs.ts';
import { createWorld, eng, lead, type World } from '../helpers/gate-world.ts';
import { createTestDb, DIALECTS, type TestDb } from '../helpers/test-db.ts';

/**
 * One slot (`maxActiveRuns: 1`); its `hold` task waits until the file named by `release` exists, so
 * a test decides when the slot frees. Over 100 rows needs a lead's approval.
 */
function slotsDag(label: string): string {
  return `
import { existsSync } from 'node:fs';
import { dag } from 'airclutch';
import { z } from 'zod';
const d = dag({ id: 'slots', maxActiveRuns: 1, approvals: { quorum: 1 },
  params: z.object({ rows: z.number().int().default(1), release: z.string().default('') }) });
d.task('hold', async (ctx) => {
  while (ctx.params.release && !existsSync(ctx.params.release)) await new Promise((r) => setTimeout(r, 20));
  return '${label}';
});
export default d;
`;
}

const SLOTS_POLICY = `
@reason("over 100 rows needs a lead's approval")
forbid (principal, action == Action::"trigger", resource) when { context.params.rows > 100 };
`;

async function records(w: World, runId: string) {
  const rows = await w.db.kysely
    .selectFrom('audit_records')
    .select(['action', 'outcome', 'task_id', 'details'])
    .where('run_id', '=', runId)
    .orderBy('seq')
    .execute();
  return rows.map((r) => ({
    action: r.action,
    outcome: r.outcome,
    ...(r.task_id ? { task: r.task_id } : {}),
    ...(r.details && JSON.parse(r.details).code ? { code: JSON.parse(r.details).code } : {}),
  }));
}

function runningTask(w: World, runId: string, taskId: string): Promise<void> {
  return new Promise((resolve) => {
    const on = (e: { runId: string; taskId: string; state: string }) => {
      if (e.runId === runId && e.taskId === taskId && e.state === 'running') {
        w.engine.off('task', on);
        resolve();
      }
    };
    w.engine.on('task', on);
  });
}

describe.each(DIALECTS)('the gate as the only way in, on %s', (dialect) => {
  let w: World | undefined;
  afterEach(async () => {
    await w?.dispose();
    w = undefined;
  });

  it('fails an approved run with DAG_CHANGED when its DAG file changed while it waited for a slot, and records why', async () => {
    w = await createWorld(dialect, {
      files: { 'dags/slots.ts': slotsDag('v1'), 'dags/slots.cedar': SLOTS_POLICY },
    });
    await w.engine.start();
    const release = join(w.dir, 'release');
    const first = await w.gate.trigger(w.ctx(eng), { dagId: 'slots', params: { release } });
    expect(first.outcome).toBe('started');
    await runningTask(w, first.run.id, 'hold');

    const asked = await w.gate.trigger(w.ctx(eng), { dagId: 'slots', params: { rows: 500 } });
    if (asked.outcome !== 'awaiting_approval') throw new Error(`expected a request, got ${asked.outcome}`);
    const vote = await voteOnApproval(w.gate, w.ctx(lead), asked.approval.id, 'approve', {
      paramsHash: asked.approval.params_hash,
      dagVersion: asked.approval.dag_version,
    });
    expect(vote.runState).toBe('queued');
    const approvedVersion = asked.run.dag_version;

    // The file changes on disk and the registry reloads it (what dev mode's watcher does).
    w.write({ 'dags/slots.ts': slotsDag('v2') });
    const change = await w.registry.reload();
    expect(change.changed).toEqual(['dev/slots']);
    const loadedVersion = w.registry.find('dev', 'slots')!.version;
    expect(loadedVersion).not.toBe(approvedVersion);

    writeFileSync(release, '');
    expect(await w.engine.waitForRun(first.run.id)).toBe('success');
    expect(await w.engine.waitForRun(asked.run.id)).toBe('failed');

    const run = await w.db.kysely
      .selectFrom('runs')
      .selectAll()
      .where('id', '=', asked.run.id)
      .executeTakeFirstOrThrow();
    expect(run.dag_version).toBe(approvedVersion);
    expect(run.started_at).toBeNull();
    expect(run.error).toBe(
      `DAG_CHANGED: DAG dev/slots changed after this run was decided (decided version ${approvedVersion}, loaded version ${loadedVersion}); the run did not execute code nobody decided on: trigger it again so the new version is decided (and approved)`,
    );
    // No code of the new version ran for it: no task instance, no attempt.
    expect(
      await w.db.kysely.selectFrom('attempts').where('run_id', '=', run.id).selectAll().execute(),
    ).toEqual([]);
    expect(await records(w, run.id)).toEqual([
      { action: 'trigger', outcome: 'awaiting_approval' },
      { action: 'approve', outcome: 'approved' },
      { action: 'run.state', outcome: 'failed', code: 'DAG_CHANGED' },
    ]);
  });

  it('fails a queued run with DAG_CHANGED when the engine starts after its DAG file changed', async () => {
    w = await createWorld(dialect, {
      files: { 'dags/slots.ts': slotsDag('v1'), 'dags/slots.cedar': SLOTS_POLICY },
    });
    const queued = await w.gate.trigger(w.ctx(eng), { dagId: 'slots' });
    expect(queued.outcome).toBe('started');
    w.write({ 'dags/slots.ts': slotsDag('v2') });
    await w.registry.reload();
    await w.engine.start();
    expect(await w.engine.waitForRun(queued.run.id)).toBe('failed');
    const run = await w.db.kysely
      .selectFrom('runs')
      .select('error')
      .where('id', '=', queued.run.id)
      .executeTakeFirstOrThrow();
    expect(run.error).toMatch(/^DAG_CHANGED: DAG dev\/slots changed after this run was decided/);
    expect(await records(w, queued.run.id)).toEqual([
      { action: 'trigger', outcome: 'started' },
      { action: 'run.state', outcome: 'failed', code: 'DAG_CHANGED' },
    ]);
  });

  it('refuses to start a run written around the gate, or one that borrows another run’s decision, with RUN_UNDECIDED', async () => {
    w = await createWorld(dialect);
    const decided = await w.gate.trigger(w.ctx(eng), { dagId: 'revenue', params: { rows: 3 } });
    const [decision] = await w.db.kysely
      .selectFrom('audit_records')
      .select('seq')
      .where('run_id', '=', decided.run.id)
      .execute();
    const request = { env: 'dev', dagId: 'revenue', source: 'api' as const, principal: eng };
    const bare = await w.engine.prepareRun(request);
    const borrowed = { ...(await w.engine.prepareRun(request)), decision_seq: decision!.seq };
    await insertRun(w.db.kysely, bare);
    await insertRun(w.db.kysely, borrowed);
    await w.engine.start();
    expect(await w.engine.waitForRun(decided.run.id)).toBe('success');
    expect(await w.engine.waitForRun(bare.id)).toBe('failed');
    expect(await w.engine.waitForRun(borrowed.id)).toBe('failed');
    const rows = await w.db.kysely
      .selectFrom('runs')
      .select(['id', 'error', 'started_at'])
      .where('id', 'in', [bare.id, borrowed.id])
      .execute();
    const errorOf = (id: string) => rows.find((r) => r.id === id)!.error;
    expect(errorOf(bare.id)).toBe(
      `RUN_UNDECIDED: run ${bare.id} of dev/revenue has no decision record in the audit trail; it was written around the gate, so it will not start: trigger the DAG through the gate (API, CLI or airclutch/embed)`,
    );
    expect(errorOf(borrowed.id)).toContain(
      `RUN_UNDECIDED: run ${borrowed.id} of dev/revenue has no decision record in the audit trail (record ${decision!.seq} does not decide this run`,
    );
    expect(rows.every((r) => r.started_at === null)).toBe(true);
    for (const id of [bare.id, borrowed.id]) {
      expect(await records(w, id)).toEqual([
        { action: 'run.state', outcome: 'failed', code: 'RUN_UNDECIDED' },
      ]);
    }
  });
});

describe('airclutch/embed', () => {
  let db: TestDb | undefined;
  let engine: Engine | undefined;
  afterEach(async () => {
    await engine?.stop(1_000);
    await db?.close();
    engine = undefined;
    db = undefined;
  });

  it('hands out the gate and its helpers, never the raw engine or a way to insert runs', () => {
    const names = Object.keys(embed);
    expect(names).toContain('embedAirclutch');
    for (const hidden of ['Engine', 'StaticDagSource', 'createAirclutch', 'startAirclutch', 'insertRun']) {
      expect(names).not.toContain(hidden);
    }
    expect('trigger' in Engine.prototype).toBe(false);
    expect('insertRun' in Engine.prototype).toBe(false);
  });

  it('refuses a task’s ctx.trigger() on an engine that has no gate, instead of starting a run without a decision', async () => {
    db = await createTestDb('sqlite');
    const child = dag({ id: 'child' });
    child.task('t', () => 1);
    const parent = dag({ id: 'parent' });
    parent.task('kick', { retries: 0 }, (ctx) => ctx.trigger('child'));
    engine = new Engine({ db, dags: new StaticDagSource([parent, child]), pollIntervalMs: 50 });
    await engine.start();
    const run = await decidedRuns(db, engine).trigger({
      env: 'dev',
      dagId: 'parent',
      source: 'api',
      principal: servicePrincipal('test'),
    });
    expect(await engine.waitForRun(run.id)).toBe('failed');
    const kick = await db.kysely
      .selectFrom('task_instances')
      .select('error')
      .where('run_id', '=', run.id)
      .executeTakeFirstOrThrow();
    expect(kick.error).toContain(
      'the engine has no gate to submit dev/child through: build Airclutch with createAirclutch() or call engine.setSubmitter(gate.submitter())',
    );
    const children = await db.kysely.selectFrom('runs').select('id').where('dag_id', '=', 'child').execute();
    expect(children).toEqual([]);
  });
});
