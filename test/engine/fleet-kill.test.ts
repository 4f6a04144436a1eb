import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { eventually } from '../helpers/eventually.ts';
import { type ChildWorker, createFleetChildren, type FleetChildren } from '../helpers/fleet-children.ts';

describe('fleet workers under kill -9', () => {
  let f: FleetChildren | undefined;
  afterEach(async () => {
    await f?.dispose();
    f = undefined;
  });

  it('killing workers mid-task 20 times while runs keep coming leaves every task succeeded exactly once, side effects counted', async () => {
    f = await createFleetChildren();
    const fleet = f;
    const alive = new Set<ChildWorker>(await Promise.all([fleet.spawn(), fleet.spawn(), fleet.spawn()]));
    const runIds: string[] = [];
    const spawning: Array<Promise<unknown>> = [];
    let kills = 0;
    while (kills < 20) {
      runIds.push(await fleet.trigger('fan'));
      // A worker that is running an attempt now (its pid, from the workers table).
      const busy = await eventually(
        async () => {
          const { rows } = await sql<{ pid: number }>`
            select distinct w.pid from attempts a join workers w on w.id = a.worker_id
            where a.state = 'running'`.execute(fleet.db.kysely);
          return [...alive].filter((w) => rows.some((r) => r.pid === w.pid));
        },
        (ws) => ws.length > 0,
        { timeoutMs: 90_000, everyMs: 20 },
      );
      const victim = busy[kills % busy.length]!;
      victim.child.kill('SIGKILL');
      await victim.exited;
      alive.delete(victim);
      kills++;
      // A replacement, in the background; never fewer than one worker alive.
      const next = fleet.spawn().then((w) => alive.add(w));
      spawning.push(next);
      if (alive.size === 0) await next;
    }
    await Promise.all(spawning);
    const states = await eventually(
      () => fleet.db.kysely.selectFrom('runs').select(['id', 'state']).where('id', 'in', runIds).execute(),
      (rows) => rows.every((r) => r.state === 'success' || r.state === 'failed'),
      { timeoutMs: 90_000, everyMs: 100 },
    );
    expect(states.filter((r) => r.state !== 'success')).toEqual([]);

    const tasks = ['root', 'mid1', 'mid2', 'mid3', 'join'];
    // Exactly one successful attempt per task of every run: no attempt was completed twice.
    const { rows: wins } = await sql<{ run_id: string; task_id: string; n: string }>`
      select run_id, task_id, count(*) as n from attempts where state = 'success' group by run_id, task_id`.execute(
      fleet.db.kysely,
    );
    expect(wins.length).toBe(runIds.length * tasks.length);
    expect(wins.every((w) => Number(w.n) === 1)).toBe(true);
    // The idempotent side effect happened once per task, keyed by ctx.idempotencyKey.
    const effects = fleet.effects().sort();
    expect(effects).toEqual(runIds.flatMap((r) => tasks.map((t) => `${r}__${t}`)).sort());
    // Executions are at least once: a task body ran again only where an attempt was reclaimed.
    const executions = fleet.executions();
    expect(executions.length).toBeGreaterThanOrEqual(runIds.length * tasks.length);
    const { rows: reclaimed } = await sql<{ n: string }>`
      select count(*) as n from attempts where state = 'failed' and error like 'lease_expired:%'`.execute(
      fleet.db.kysely,
    );
    expect(Number(reclaimed[0]!.n)).toBeGreaterThan(0);
    expect(executions.length - runIds.length * tasks.length).toBeLessThanOrEqual(Number(reclaimed[0]!.n));
    expect((await verifyChain(fleet.db)).ok).toBe(true);
  }, 400_000);
});
