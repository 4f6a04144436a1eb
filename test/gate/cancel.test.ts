import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { cancelRunFor } from '../../src/gate/gate-reads.ts';
import { createWorld, eng, type World } from '../helpers/gate-world.ts';
import { DIALECTS } from '../helpers/test-db.ts';

const SLEEPER = {
  'dags/sleeper.ts': `
import { dag } from 'airclutch';
const d = dag({ id: 'sleeper' });
const nap = d.shell('nap', { command: 'sleep 30' });
d.task('after', { after: [nap] }, () => 1);
export default d;
`,
};

async function records(w: World, runId: string) {
  const rows = await w.db.kysely
    .selectFrom('audit_records')
    .select(['action', 'outcome', 'task_id', 'details'])
    .where('run_id', '=', runId)
    .orderBy('seq')
    .execute();
  return rows.map((r) => [
    r.action,
    r.outcome,
    r.task_id,
    (r.details ? JSON.parse(r.details).from : null) ?? null,
  ]);
}

/** Makes the store itself refuse audit records of one action: a real write failure, not a stand-in. */
async function refuseRecords(w: World, action: string): Promise<void> {
  if (w.db.dialect === 'sqlite') {
    await sql
      .raw(
        `create trigger refuse_record before insert on audit_records when new.action = '${action}' begin select raise(abort, 'audit disk full'); end`,
      )
      .execute(w.db.kysely);
    return;
  }
  await sql
    .raw(
      `create function refuse_record() returns trigger language plpgsql as $$ begin if new.action = '${action}' then raise exception 'audit disk full'; end if; return new; end $$`,
    )
    .execute(w.db.kysely);
  await sql
    .raw(
      'create trigger refuse_record before insert on audit_records for each row execute function refuse_record()',
    )
    .execute(w.db.kysely);
}

describe.each(DIALECTS)('cancelling through the gate on %s', (dialect) => {
  let w: World | undefined;
  afterEach(async () => {
    await w?.dispose();
    w = undefined;
  });

  it('records the decision, the run and every task it cancels, and the running task when its attempt stops', async () => {
    w = await createWorld(dialect, { files: SLEEPER });
    await w.engine.start();
    const res = await w.gate.trigger(w.ctx(eng), { dagId: 'sleeper' });
    await new Promise<void>((resolve) => {
      const on = (e: { runId: string; taskId: string; state: string }) => {
        if (e.runId === res.run.id && e.taskId === 'nap' && e.state === 'running') {
          w!.engine.off('task', on);
          resolve();
        }
      };
      w!.engine.on('task', on);
    });
    // The aborted attempt ends in a later cycle, and its record follows; that cycle can end before the
    // cancel's answer is back, so the listener is in place first.
    const napEnded = new Promise<void>((resolve) => {
      const on = (e: { runId: string; taskId: string; state: string }) => {
        if (e.runId === res.run.id && e.taskId === 'nap' && e.state === 'cancelled') {
          w!.engine.off('task', on);
          resolve();
        }
      };
      w!.engine.on('task', on);
    });
    const view = await cancelRunFor(w.gate, w.ctx(eng), res.run.id, 'stop it');
    expect(view.state).toBe('cancelled');
    expect(view.error).toBe('stop it');
    await napEnded;
    expect(await records(w, res.run.id)).toEqual([
      ['trigger', 'started', null, null],
      ['run.state', 'running', null, 'queued'],
      ['task.state', 'running', 'nap', 'queued'],
      ['cancel', 'cancelling', null, null],
      ['run.state', 'cancelled', null, 'running'],
      ['task.state', 'cancelled', 'after', 'pending'],
      ['task.state', 'cancelled', 'nap', 'running'],
    ]);
  });

  it('changes nothing when a record of the cancel cannot be written: the run, its tasks and its approval request stay as they were', async () => {
    w = await createWorld(dialect);
    const asked = await w.gate.trigger(w.ctx(eng), { dagId: 'revenue', params: { rows: 5_000_000 } });
    if (asked.outcome !== 'awaiting_approval') throw new Error(`expected a request, got ${asked.outcome}`);
    await refuseRecords(w, 'approval.cancel');
    const err = await cancelRunFor(w.gate, w.ctx(eng), asked.run.id).catch((e) => e);
    expect(err.code).toBe('AUDIT_UNAVAILABLE');
    expect(err.message).toContain('audit disk full');
    expect(err.message).toContain('The action was refused');
    const run = await w.db.kysely
      .selectFrom('runs')
      .select(['state', 'error'])
      .where('id', '=', asked.run.id)
      .executeTakeFirstOrThrow();
    expect(run).toEqual({ state: 'awaiting_approval', error: null });
    const request = await w.db.kysely
      .selectFrom('approval_requests')
      .select('state')
      .where('id', '=', asked.approval.id)
      .executeTakeFirstOrThrow();
    expect(request.state).toBe('pending');
    // Not even the decision record: it commits with the cancel or not at all.
    expect(await records(w, asked.run.id)).toEqual([['trigger', 'awaiting_approval', null, null]]);
  });
});
