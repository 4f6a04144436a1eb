import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createAirclutch } from '../../src/app/create-airclutch.ts';
import { getRunFor, listRunsFor, readLogsFor } from '../../src/gate/gate-reads.ts';
import { isAirclutchError } from '../../src/lib/errors.ts';
import { createWorld, DAGS, eng, outsider, type World } from '../helpers/gate-world.ts';
import { DIALECTS } from '../helpers/test-db.ts';
import { startHttpWorld } from '../http/http-world.ts';

const PUBLIC_REVENUE = DAGS['dags/revenue.ts'].replace(
  "owner: 'data-eng',",
  "owner: 'data-eng', tags: ['public'],",
);

const VISITORS = {
  'dags/revenue.ts': PUBLIC_REVENUE,
  'policies/visitors.cedar': `
@reason("visitors see runs of public DAGs")
permit (principal in Group::"visitors", action == Action::"view", resource is Run)
when { resource.dag.tags.contains("public") };
`,
};

/** Deletes the revenue DAG's file and reloads DAGs and policies, as the dev-mode watcher does. */
async function deleteRevenue(w: World): Promise<void> {
  rmSync(join(w.dir, 'dags/revenue.ts'));
  const change = await w.registry.reload();
  expect(change.removed).toEqual(['dev/revenue']);
  const loaded = await w.policies.load();
  expect(loaded.ok).toBe(true);
}

describe.each(DIALECTS)('runs of a DAG that is no longer loaded, on %s', (dialect) => {
  let w: World | undefined;
  afterEach(async () => {
    await w?.dispose();
    w = undefined;
  });

  it('stay in the run list and show, marked as no longer loaded, with every param masked', async () => {
    w = await createWorld(dialect, { files: VISITORS });
    const started = await w.gate.trigger(w.ctx(eng), { dagId: 'revenue', params: { rows: 10 } });
    const runId = started.run.id;
    expect(started.run.dag_loaded).toBe(true);
    await deleteRevenue(w);

    const listed = await listRunsFor(w.gate, w.ctx(eng), {});
    expect(listed.map((r) => [r.id, r.dag_id, r.dag_loaded])).toEqual([[runId, 'revenue', false]]);
    expect(listed[0]!.params).toEqual({ rows: '••••••', dryRun: '••••••' });
    const shown = await getRunFor(w.gate, w.ctx(eng), runId);
    expect([shown.run.id, shown.run.state, shown.run.dag_loaded]).toEqual([runId, 'queued', false]);
    expect(shown.tasks).toEqual([]); // queued when its DAG went: no task ever started
    expect(await readLogsFor(w.gate, w.ctx(eng), runId)).toEqual([]);
  });

  it('are visible only where the environment policies allow without the DAG attributes (deny by default)', async () => {
    w = await createWorld(dialect, { files: VISITORS });
    const { run } = await w.gate.trigger(w.ctx(eng), { dagId: 'revenue', params: { rows: 10 } });
    // While the DAG is loaded, its tags let visitors see the run.
    expect((await listRunsFor(w.gate, w.ctx(outsider), {})).map((r) => r.id)).toEqual([run.id]);
    await deleteRevenue(w);

    // Its tags are unknown now: a permit that reads them no longer applies.
    expect(await listRunsFor(w.gate, w.ctx(outsider), {})).toEqual([]);
    const err = await getRunFor(w.gate, w.ctx(outsider), run.id).catch((e: unknown) => e);
    expect(isAirclutchError(err) && err.code).toBe('POLICY_DENIED');
    expect((err as Error).message).toBe(
      'User::"guest@example.com" may not view dev/revenue: no policy permits view on this run (deny by default); ' +
        'DAG dev/revenue is no longer loaded, so policies see Dag::"dev/revenue" without attributes (owner, tags). ' +
        'policy errors: policies/visitors.cedar:2: `Dag::"dev/revenue"` does not have the attribute `tags`',
    );
  });
});

describe('a duplicate DAG id and the store', () => {
  let w: World | undefined;
  afterEach(async () => {
    await w?.dispose();
    w = undefined;
  });

  it('keeps the DAG the server holds when the CLI loads the files cold, so both record one version', async () => {
    w = await createWorld('sqlite');
    const held = w.registry.get('dev', 'revenue');
    await w.scheduler.tick(); // the server records which file holds each DAG
    // A newcomer that sorts first declares the same id.
    w.write({ 'dags/a_revenue.ts': DAGS['dags/revenue.ts'].replace('(ctx) => ({', '(ctx) => ({ copy: 1,') });
    await w.registry.reload();
    expect(w.registry.get('dev', 'revenue').file).toBe(held.file);

    const cli = await createAirclutch(w.config, { db: w.testDb });
    try {
      const loaded = cli.registry.get('dev', 'revenue');
      expect([loaded.file, loaded.version]).toEqual([held.file, held.version]);
      expect(cli.registry.errors().map((e) => [e.file, e.message])).toEqual([
        [
          join(w.dir, 'dags/a_revenue.ts'),
          'duplicate DAG id revenue: already defined in revenue.ts, which stays loaded; give this DAG another id',
        ],
      ]);
      const { run } = await cli.gate.trigger(w.ctx(eng), { dagId: 'revenue', params: { rows: 1 } });
      expect(run.dag_version).toBe(w.registry.get('dev', 'revenue').version);
    } finally {
      await cli.close();
    }
  });
});

describe('GET /api/v1/runs on a real server', () => {
  it('lists and shows the runs of a deleted DAG with dag_loaded false', async () => {
    const h = await startHttpWorld();
    try {
      const token = await h.token('eng@example.com', 'openid airclutch:trigger');
      const made = await h.call('POST', '/api/v1/dags/revenue/runs', {
        token,
        body: { params: { rows: 3 } },
      });
      expect(made.status).toBe(201);
      const runId = made.json.run.id as string;
      await deleteRevenue(h.world);

      const list = await h.call('GET', '/api/v1/runs', { token });
      expect(list.status).toBe(200);
      expect(list.json.runs.map((r: { id: string; dag_loaded: boolean }) => [r.id, r.dag_loaded])).toEqual([
        [runId, false],
      ]);
      const one = await h.call('GET', `/api/v1/runs/${runId}`, { token });
      expect(one.status).toBe(200);
      expect([one.json.run.id, one.json.run.dag_id, one.json.run.dag_loaded]).toEqual([
        runId,
        'revenue',
        false,
      ]);
    } finally {
      await h.close();
    }
  });
});
