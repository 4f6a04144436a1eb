/**
 * An approved unpause whose Airflow call fails is not lost: it is retried with backoff (the
 * request shows it pending, with its tries and the reason), recorded per try in the audit trail,
 * given up as failed after its last try or at once when Airflow refuses, and taken up again when
 * the process stopped between the approving vote and the call.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { setPausedFor } from '../../src/airflow/airflow-actions.ts';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import type { ApprovalView } from '../../src/gate/gate-types.ts';
import { approvalView, voteOnApproval } from '../../src/gate/vote.ts';
import { createWorld, eng, lead, type World } from '../helpers/gate-world.ts';
import { DIALECTS } from '../helpers/test-db.ts';
import { FakeAirflow } from './fake-airflow.ts';

const PROD = `
@reason("engineers may ask to start an Airflow schedule")
permit (principal in Group::"data-eng", action == Action::"requestUnpause", resource);
@reason("leads approve prod requests")
permit (principal in Group::"data-leads", action == Action::"approve", resource);
`;

describe.each(DIALECTS)('an approved Airflow unpause on %s', (dialect) => {
  let fake: FakeAirflow | undefined;
  let w: World | undefined;
  afterEach(async () => {
    await w?.dispose();
    await fake?.close();
    w = undefined;
    fake = undefined;
  });

  async function world() {
    const clock = { now: Date.parse('2026-11-29T04:00:00Z') };
    fake = await FakeAirflow.start({ api: 'v2' });
    fake.addDag({ dag_id: 'load_orders', is_paused: true, schedule: '0 3 * * *' });
    const config = [
      'environments:',
      '  prod:',
      '    policies: [prod-policies]',
      '    approvals: { quorum: 1 }',
      '    airflow:',
      `      baseUrl: ${fake.url}`,
      '      api: v2',
      `      auth: { kind: password, username: ${fake.credentials.username}, password: { file: airflow-password } }`,
      '      retries: 1',
      '      retryBaseMs: 1',
      '',
    ].join('\n');
    w = await createWorld(dialect, {
      config,
      clock: () => clock.now,
      files: { 'prod-policies/roles.cedar': PROD, 'airflow-password': `${fake.credentials.password}\n` },
    });
    await w.airflow!.catalogs.get('prod')!.refresh();
    await w.policies.load();
    return { w, fake, clock, executor: w.airflow!.executor };
  }

  /** The engineer asks to unpause; returns the approval request. */
  async function ask(w: World): Promise<ApprovalView> {
    const asked = await setPausedFor(w.airflow!.deps, w.ctx(eng), 'prod', 'load_orders', false);
    if (asked.outcome !== 'awaiting_approval') throw new Error(`expected approval, got ${asked.outcome}`);
    return asked.approval;
  }

  const approve = (w: World, a: ApprovalView) =>
    voteOnApproval(w.gate, w.ctx(lead), a.id, 'approve', {
      paramsHash: a.params_hash,
      dagVersion: a.dag_version,
    });

  const trail = async (w: World, approvalId: string) =>
    (
      await w.db.kysely
        .selectFrom('audit_records')
        .select(['action', 'outcome', 'details'])
        .where('approval_id', '=', approvalId)
        .orderBy('seq')
        .execute()
    ).map((r) => `${r.action}:${r.outcome}`);

  it('retries an approved unpause that Airflow answers with 5xx, with backoff, until Airflow applies it', async () => {
    const { w, fake, clock, executor } = await world();
    const a = await ask(w);
    // Two tries fail (each is the client's call and its one retry), the third goes through.
    fake.faults.failNext = { status: 503, count: 4 };
    const voted = await approve(w, a);
    expect(voted.approval.state).toBe('approved');
    expect(voted.approval.delivery).toMatchObject({
      state: 'pending',
      attempts: 1,
      next_attempt_at: clock.now + 1_000,
    });
    expect(voted.approval.delivery?.last_error).toContain(
      'Airflow answered 503 to PATCH /api/v2/dags/load_orders',
    );
    expect(fake.dags.get('load_orders')!.is_paused).toBe(true);

    // Not due yet: nothing is sent.
    const sent = fake.requests.length;
    await executor.tick();
    expect(fake.requests.length).toBe(sent);

    clock.now += 1_000;
    await executor.tick();
    expect((await approvalView(w, a.id)).delivery).toMatchObject({
      state: 'pending',
      attempts: 2,
      next_attempt_at: clock.now + 2_000,
    });
    expect(fake.dags.get('load_orders')!.is_paused).toBe(true);

    clock.now += 2_000;
    await executor.tick();
    expect(fake.dags.get('load_orders')!.is_paused).toBe(false);
    const done = await approvalView(w, a.id);
    expect(done.delivery).toMatchObject({
      state: 'done',
      attempts: 3,
      next_attempt_at: null,
      last_error: null,
    });
    expect(w.airflow!.catalogs.get('prod')!.find('load_orders')!.remote.isPaused).toBe(false);

    // Applied once: later ticks send nothing more.
    const after = fake.requests.length;
    clock.now += 600_000;
    await executor.tick();
    expect(fake.requests.filter((r) => r.method === 'patch').length).toBe(5);
    expect(fake.requests.length).toBe(after);

    expect(await trail(w, a.id)).toEqual([
      'unpause:awaiting_approval',
      'approve:approved',
      'airflow.unpause:retrying',
      'airflow.unpause:retrying',
      'airflow.unpause:unpaused',
    ]);
    const retries = await w.db.kysely
      .selectFrom('audit_records')
      .select(['details', 'actor_id'])
      .where('approval_id', '=', a.id)
      .where('outcome', '=', 'retrying')
      .orderBy('seq')
      .execute();
    expect(retries.map((r) => r.actor_id)).toEqual(['airflow-bridge', 'airflow-bridge']);
    expect(retries.map((r) => JSON.parse(String(r.details)).attempt)).toEqual([1, 2]);
    expect((await verifyChain(w.db)).ok).toBe(true);
    expect(fake.violations).toEqual([]);
  });

  it('gives an approved unpause up as failed after its last try, with the reason on the request', async () => {
    const { w, fake, clock, executor } = await world();
    const a = await ask(w);
    fake.faults.failNext = { status: 500, count: 1_000 };
    await approve(w, a);
    for (let i = 2; i <= 10; i++) {
      clock.now += 300_000;
      await executor.tick();
    }
    const failed = await approvalView(w, a.id);
    expect(failed.delivery).toMatchObject({ state: 'failed', attempts: 10, next_attempt_at: null });
    expect(failed.delivery?.last_error).toMatch(
      /^failed after 10 tries: Airflow answered 500 to PATCH \/api\/v2\/dags\/load_orders: injected fault; not unpaused; ask again$/,
    );
    clock.now += 600_000;
    fake.faults.failNext = undefined;
    await executor.tick();
    expect(fake.dags.get('load_orders')!.is_paused).toBe(true);
    const t = await trail(w, a.id);
    expect(t.filter((x) => x === 'airflow.unpause:retrying')).toHaveLength(9);
    expect(t.at(-1)).toBe('airflow.unpause:failed');
    expect((await verifyChain(w.db)).ok).toBe(true);
  });

  it('fails an approved unpause that Airflow refuses at once, without retrying it', async () => {
    const { w, fake, clock, executor } = await world();
    const a = await ask(w);
    fake.faults.forbid = true;
    const voted = await approve(w, a);
    expect(voted.approval.delivery).toMatchObject({ state: 'failed', attempts: 1 });
    expect(voted.approval.delivery?.last_error).toContain(
      'Airflow answered 403 to PATCH /api/v2/dags/load_orders: Forbidden: the service account lacks a permission',
    );
    fake.faults.forbid = false;
    clock.now += 600_000;
    await executor.tick();
    expect(fake.dags.get('load_orders')!.is_paused).toBe(true);
    expect((await trail(w, a.id)).slice(2)).toEqual(['airflow.unpause:failed']);
  });

  it('takes up, once, an approved unpause whose process stopped between the vote and the call', async () => {
    const { w, fake, executor } = await world();
    const a = await ask(w);
    // The process stops after the approving vote committed, before the bridge was told.
    const handler = w.gate.dagActions.get('unpause');
    w.gate.dagActions.delete('unpause');
    const voted = await approve(w, a);
    w.gate.dagActions.set('unpause', handler!);
    expect(voted.approval.state).toBe('approved');
    expect(fake.dags.get('load_orders')!.is_paused).toBe(true);
    // Two ticks at once (two passes racing) claim it once between them.
    await Promise.all([executor.deliverUnpauses(), executor.deliverUnpauses()]);
    expect(fake.dags.get('load_orders')!.is_paused).toBe(false);
    expect(fake.requests.filter((r) => r.method === 'patch')).toHaveLength(1);
    expect((await approvalView(w, a.id)).delivery).toMatchObject({ state: 'done', attempts: 1 });
    expect(await trail(w, a.id)).toEqual([
      'unpause:awaiting_approval',
      'approve:approved',
      'airflow.unpause:unpaused',
    ]);
  });
});
