import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAirclutch } from '../../src/app/create-airclutch.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { DAGS, user } from '../helpers/gate-world.ts';
import { type CliWorld, cliWorld } from './cli-world.ts';

let world: CliWorld;
let pendingId: string;
let pendingRun: string;

function cli(as: string, ...args: string[]) {
  return world.cli(args, { as });
}

async function listAs(
  email: string,
): Promise<{ actionable: Array<{ id: string }>; mine: Array<{ id: string }> }> {
  return JSON.parse((await cli(email, 'approvals', 'list', '--json')).stdout);
}

describe('the CLI reads and starts runs through the gate', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    world = await cliWorld(DAGS);
    const ac = await createAirclutch(await loadConfig({ path: world.configPath }));
    try {
      // The dev IdP's engineer asks for a run that needs two leads' approval.
      const res = await ac.gate.trigger(
        { principal: user('eng@example.com', ['data-eng']), source: 'cli', requestId: 'r1' },
        { dagId: 'revenue', params: { rows: 2_000_000 } },
      );
      if (res.outcome !== 'awaiting_approval') throw new Error(`expected approval, got ${res.outcome}`);
      pendingId = res.approval.id;
      pendingRun = res.run.id;
    } finally {
      await ac.close();
    }
  });
  afterAll(() => world?.close());

  it('shows a lead the request Cedar lets them approve', async () => {
    const lists = await listAs('lead@example.com');
    expect(lists.actionable.map((a) => a.id)).toEqual([pendingId]);
    expect(lists.mine).toEqual([]);
  });

  it('shows the requester their own request, never as one they can approve', async () => {
    const lists = await listAs('eng@example.com');
    expect(lists.actionable).toEqual([]);
    expect(lists.mine.map((a) => a.id)).toEqual([pendingId]);
  });

  it('shows nothing to someone no policy lets approve', async () => {
    expect(await listAs('admin@example.com')).toEqual({ actionable: [], mine: [] });
  });

  it('lists only the runs the caller may view, and refuses their logs to anyone else', async () => {
    // At once: each is its own process, each verifies its caller against the running dev IdP.
    const [lead, admin, logs] = await Promise.all([
      cli('lead@example.com', 'runs', 'list', '--json'),
      cli('admin@example.com', 'runs', 'list', '--json'),
      cli('admin@example.com', 'runs', 'logs', pendingRun),
    ]);
    expect(JSON.parse(lead.stdout).map((r: { id: string }) => r.id)).toEqual([pendingRun]);
    expect(JSON.parse(admin.stdout)).toEqual([]);
    expect(logs.code).toBe(1);
    expect(logs.stderr).toMatch(
      /^error\[POLICY_DENIED\]: User::"admin@example.com" may not readLogs dev\/revenue[^\n]*\n$/,
    );
  });

  it('backfills as the caller: each tick is decided by policy for them, and refused ticks make no run', async () => {
    const range = ['--from', '2026-10-01T00:30:00Z', '--to', '2026-10-01T02:30:00Z', '--json'];
    // Leads may view cleanup but not run it (one who may not view it gets DAG_NOT_FOUND instead).
    const refused = await cli('lead@example.com', 'backfill', 'cleanup', ...range);
    expect(refused.code).toBe(1);
    const outcomes = JSON.parse(refused.stdout).map((r: { outcome: string }) => r.outcome);
    expect(outcomes).toHaveLength(2);
    for (const o of outcomes)
      expect(o).toMatch(/^error: User::"lead@example.com" may not trigger dev\/cleanup: no policy permits/);

    const done = await cli('eng@example.com', 'backfill', 'cleanup', ...range);
    expect(done.code).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject([
      { logical_date: '2026-10-01T01:00:00.000Z', outcome: 'started' },
      { logical_date: '2026-10-01T02:00:00.000Z', outcome: 'started' },
    ]);
    const runs = JSON.parse(
      (await cli('eng@example.com', 'runs', 'list', '--dag', 'cleanup', '--json')).stdout,
    );
    expect(runs.map((r: { requested_by: string; source: string }) => [r.requested_by, r.source])).toEqual([
      ['eng@example.com', 'cli'],
      ['eng@example.com', 'cli'],
    ]);
  });
});
