import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/verify-chain.ts';
import { cancelRunFor, explainFor, getRunFor, listDagsFor, readLogsFor } from '../../src/gate/gate-reads.ts';
import { expireApprovals, voteOnApproval } from '../../src/gate/vote.ts';
import type { Principal } from '../../src/identity/principal.ts';
import { servicePrincipal } from '../../src/identity/principal.ts';
import {
  createWorld,
  eng,
  eng2,
  lead,
  lead2,
  oncall,
  outsider,
  user,
  type World,
} from '../helpers/gate-world.ts';
import { DIALECTS } from '../helpers/test-db.ts';

/** What a voter is shown of a request: its params hash and DAG version, sent back with the vote. */
function shown(a: { params_hash: string; dag_version: string }, comment?: string) {
  return { paramsHash: a.params_hash, dagVersion: a.dag_version, ...(comment ? { comment } : {}) };
}

async function auditRows(w: World, action?: string) {
  let q = w.db.kysely.selectFrom('audit_records').selectAll().orderBy('seq');
  if (action) q = q.where('action', '=', action);
  return q.execute();
}

describe.each(DIALECTS)('the gate on %s', (dialect) => {
  let w: World | undefined;
  afterEach(async () => {
    await w?.dispose();
    w = undefined;
  });

  it('starts an allowed trigger at once and records the decision with its policy in the same transaction', async () => {
    w = await createWorld(dialect);
    await w.engine.start();
    const result = await w.gate.trigger(w.ctx(eng), { dagId: 'revenue', params: { rows: 10 } });
    expect(result.outcome).toBe('started');
    expect(await w.engine.waitForRun(result.run.id)).toBe('success');
    const [record] = await auditRows(w, 'trigger');
    expect(record).toMatchObject({
      actor_id: 'eng@example.com',
      run_id: result.run.id,
      outcome: 'started',
      decision_effect: 'allow',
    });
    expect(JSON.parse(record!.decision!).policies[0]).toMatch(/^policies\/roles\.cedar:\d+$/);
    expect((await verifyChain(w.db)).ok).toBe(true);
  });

  it('refuses a denied trigger naming the policy and its reason, and records the refusal; no run exists', async () => {
    w = await createWorld(dialect);
    // Leads may view every DAG but not run one.
    const err = await w.gate.trigger(w.ctx(lead), { dagId: 'revenue' }).catch((e) => e);
    expect(err.code).toBe('POLICY_DENIED');
    expect(err.message).toContain('User::"lead@example.com" may not trigger dev/revenue');
    expect(err.message).toContain('deny by default');
    expect(err.message).toContain('what would allow it');
    expect(await w.db.kysely.selectFrom('runs').selectAll().execute()).toEqual([]);
    const [record] = await auditRows(w, 'trigger');
    expect(record).toMatchObject({
      actor_id: 'lead@example.com',
      outcome: 'denied',
      decision_effect: 'deny',
    });
  });

  it('answers a caller who may not view a DAG exactly as for a DAG that does not exist, and records the refusal', async () => {
    w = await createWorld(dialect);
    const answer = (p: Promise<unknown>) =>
      p.then(
        () => 'accepted',
        (e) => ({ code: e.code, status: e.status, message: e.message, details: e.details }),
      );
    const missing = await answer(w.gate.trigger(w.ctx(outsider), { dagId: 'nosuch' }));
    const expected = (dagId: string) => ({
      code: 'DAG_NOT_FOUND',
      status: 404,
      message: `DAG ${dagId} not found in environment dev; you may view no DAG in this environment`,
      details: { env: 'dev', dagId, suggestions: [] },
    });
    expect(missing).toEqual(expected('nosuch'));
    // Denied by policy, invalid params, a near miss, break-glass: the same answer as for a missing DAG.
    expect(await answer(w.gate.trigger(w.ctx(outsider), { dagId: 'revenue' }))).toEqual(expected('revenue'));
    expect(
      await answer(w.gate.trigger(w.ctx(outsider), { dagId: 'revenue', params: { rows: 'lots', rowz: 1 } })),
    ).toEqual(expected('revenue'));
    expect(await answer(w.gate.trigger(w.ctx(outsider), { dagId: 'revenu' }))).toEqual(expected('revenu'));
    expect(await answer(w.gate.breakGlass(w.ctx(outsider), { dagId: 'revenue', reason: 'outage' }))).toEqual(
      expected('revenue'),
    );
    expect(
      await answer(explainFor(w.gate, w.ctx(outsider), { action: 'trigger', dagId: 'revenue' })),
    ).toEqual(expected('revenue'));
    expect(await w.db.kysely.selectFrom('runs').selectAll().execute()).toEqual([]);
    const records = await w.db.kysely
      .selectFrom('audit_records')
      .selectAll()
      .where('actor_id', '=', outsider.id)
      .orderBy('seq')
      .execute();
    expect(
      records.map((r) => [
        r.action,
        r.dag_id,
        r.outcome,
        r.decision_effect,
        r.details && JSON.parse(r.details),
      ]),
    ).toEqual([
      ['trigger', 'nosuch', 'refused', null, { code: 'DAG_NOT_FOUND', message: expected('nosuch').message }],
      ['trigger', 'revenue', 'denied', 'deny', null],
      [
        'trigger',
        'revenue',
        'refused',
        null,
        { code: 'DAG_NOT_FOUND', message: expected('revenue').message, hiddenFromCaller: true },
      ],
      ['trigger', 'revenu', 'refused', null, { code: 'DAG_NOT_FOUND', message: expected('revenu').message }],
      ['breakGlass', 'revenue', 'denied', 'deny', { reason: 'outage' }],
      [
        'explain',
        'revenue',
        'refused',
        null,
        { code: 'DAG_NOT_FOUND', message: expected('revenue').message, hiddenFromCaller: true },
      ],
    ]);
  });

  it('still tells a service that may trigger a DAG it may not view what to fix, since a trigger reveals the DAG anyway', async () => {
    w = await createWorld(dialect);
    // cleanup's service may start revenue, and no policy lets it view anything.
    const service = servicePrincipal('dag:dev/cleanup');
    const err = await w.gate
      .trigger(
        { principal: service, source: 'dag', requestId: 'r' },
        { dagId: 'revenue', params: { rows: 2_000_000 } },
      )
      .catch((e) => e);
    expect(err.code).toBe('POLICY_DENIED');
    expect(err.message).toContain('over a million rows needs approval');
    const bad = await w.gate
      .trigger(
        { principal: service, source: 'dag', requestId: 'r' },
        { dagId: 'revenue', params: { rows: 'lots' } },
      )
      .catch((e) => e);
    expect(bad.code).toBe('PARAMS_INVALID');
    expect(bad.details.issues.map((i: { path: string }) => i.path)).toEqual(['rows']);
  });

  it('names near matches only among the DAGs the caller may view', async () => {
    w = await createWorld(dialect, {
      files: {
        'policies/visitors.cedar':
          'permit (principal in Group::"visitors", action == Action::"view", resource == Dag::"dev/cleanup");\n',
      },
    });
    const hidden = await w.gate.trigger(w.ctx(outsider), { dagId: 'revenu' }).catch((e) => e);
    expect(hidden.code).toBe('DAG_NOT_FOUND');
    expect(hidden.message).toBe('DAG revenu not found in environment dev; DAGs you may view: cleanup');
    const near = await w.gate.trigger(w.ctx(outsider), { dagId: 'cleanu' }).catch((e) => e);
    expect(near.code).toBe('DAG_NOT_FOUND');
    expect(near.message).toBe('DAG cleanu not found in environment dev; did you mean cleanup?');
    expect(near.details.suggestions).toEqual(['cleanup']);
    // A DAG the caller may view keeps the refusal that says what to fix.
    const denied = await w.gate.trigger(w.ctx(outsider), { dagId: 'cleanup' }).catch((e) => e);
    expect(denied.code).toBe('POLICY_DENIED');
    expect(denied.message).toContain('User::"guest@example.com" may not trigger dev/cleanup');
  });

  it('records a refused read of a run or its logs, naming who asked and which run', async () => {
    w = await createWorld(dialect);
    const res = await w.gate.trigger(w.ctx(eng), { dagId: 'revenue', params: { rows: 10 } });
    const view = await getRunFor(w.gate, w.ctx(outsider), res.run.id).catch((e) => e);
    expect(view.code).toBe('POLICY_DENIED');
    expect(view.message).toContain('User::"guest@example.com" may not view dev/revenue');
    const logs = await readLogsFor(w.gate, w.ctx(outsider), res.run.id, {}).catch((e) => e);
    expect(logs.code).toBe('POLICY_DENIED');
    const refusals = await w.db.kysely
      .selectFrom('audit_records')
      .select(['action', 'actor_id', 'run_id', 'outcome'])
      .where('outcome', '=', 'denied')
      .orderBy('seq')
      .execute();
    expect(refusals).toEqual([
      { action: 'view', actor_id: 'guest@example.com', run_id: res.run.id, outcome: 'denied' },
      { action: 'readLogs', actor_id: 'guest@example.com', run_id: res.run.id, outcome: 'denied' },
    ]);
  });

  it('lets a forbid override a permit and says which policy decided', async () => {
    w = await createWorld(dialect);
    const res = await w.gate.trigger(w.ctx(eng), { dagId: 'revenue', params: { rows: 2_000_000 } });
    // data-eng may request any run, so the forbidden trigger becomes a request for approval.
    expect(res.outcome).toBe('awaiting_approval');
    const err = await w.gate
      .trigger(w.ctx(lead), { dagId: 'revenue', params: { rows: 2_000_000 } })
      .catch((e) => e);
    expect(err.code).toBe('POLICY_DENIED');
    expect(err.message).toMatch(/determining policies: dags\/revenue\.cedar:\d+/);
    expect(err.message).toContain('over a million rows needs approval');
  });

  it('refuses invalid params before a run exists, and records the refusal with the code', async () => {
    w = await createWorld(dialect);
    const err = await w.gate
      .trigger(w.ctx(eng), { dagId: 'revenue', params: { rows: 'lots', rowz: 1 } })
      .catch((e) => e);
    expect(err.code).toBe('PARAMS_INVALID');
    expect(err.details.issues.map((i: { path: string }) => i.path)).toEqual(['rows', 'rowz']);
    expect(await w.db.kysely.selectFrom('runs').selectAll().execute()).toEqual([]);
    const [record] = await auditRows(w, 'trigger');
    expect(JSON.parse(record!.details!)).toMatchObject({ code: 'PARAMS_INVALID' });
  });

  it('names the near match for an unknown DAG', async () => {
    w = await createWorld(dialect);
    const err = await w.gate.trigger(w.ctx(eng), { dagId: 'revenu' }).catch((e) => e);
    expect(err.code).toBe('DAG_NOT_FOUND');
    expect(err.message).toContain('did you mean revenue?');
  });

  it('holds a run for approval until a quorum of eligible people, never the requester, approve it', async () => {
    w = await createWorld(dialect);
    await w.engine.start();
    const res = await w.gate.trigger(w.ctx(eng), { dagId: 'revenue', params: { rows: 2_000_000 } });
    if (res.outcome !== 'awaiting_approval') throw new Error('expected approval');
    expect(res.run.state).toBe('awaiting_approval');
    expect(res.approval).toMatchObject({ quorum: 2, state: 'pending' });
    // Why: the forbid that stopped the trigger, then the permit to ask.
    expect(res.approval.reason).toMatch(
      /^over a million rows needs approval; .*engineers may ask for any run$/,
    );
    await new Promise((r) => setTimeout(r, 150));
    expect(await w.db.kysely.selectFrom('attempts').selectAll().execute()).toEqual([]);

    const self = await voteOnApproval(w.gate, w.ctx(eng), res.approval.id, 'approve').catch((e) => e);
    expect(self.code).toBe('POLICY_DENIED'); // engineers are not approvers at all
    const notEligible = await voteOnApproval(w.gate, w.ctx(eng2), res.approval.id, 'approve').catch((e) => e);
    expect(notEligible.code).toBe('POLICY_DENIED');
    const service = await voteOnApproval(
      w.gate,
      w.ctx(servicePrincipal('ci-bot')),
      res.approval.id,
      'approve',
    ).catch((e) => e);
    expect(service.code).toBe('POLICY_DENIED');

    const first = await voteOnApproval(
      w.gate,
      w.ctx(lead),
      res.approval.id,
      'approve',
      shown(res.approval, 'looks fine'),
    );
    expect(first).toMatchObject({ approvals: 1, quorum: 2, runState: 'awaiting_approval' });
    const twice = await voteOnApproval(
      w.gate,
      w.ctx(lead),
      res.approval.id,
      'approve',
      shown(res.approval),
    ).catch((e) => e);
    expect(twice.code).toBe('APPROVAL_DUPLICATE_VOTE');
    expect(twice.message).toContain('one identity counts once');
    const second = await voteOnApproval(
      w.gate,
      w.ctx(lead2),
      res.approval.id,
      'approve',
      shown(res.approval),
    );
    expect(second).toMatchObject({ approvals: 2, runState: 'queued' });
    expect(second.approval.state).toBe('approved');
    expect(await w.engine.waitForRun(res.run.id)).toBe('success');
    const votes = await auditRows(w, 'approve');
    expect(votes.map((v) => [v.actor_id, v.outcome])).toEqual([
      ['eng@example.com', 'denied'],
      ['eng2@example.com', 'denied'],
      ['ci-bot', 'denied'],
      ['lead@example.com', 'recorded'],
      ['lead@example.com', 'refused'],
      ['lead2@example.com', 'approved'],
    ]);
  });

  it('never counts the requester, even one who may approve', async () => {
    w = await createWorld(dialect);
    const res = await w.gate.trigger(w.ctx(eng), { dagId: 'revenue', params: { rows: 1 } });
    expect(res.outcome).toBe('started');
    // The store refuses it whatever policy says: make the requester one who could approve.
    const { castVote, createApprovalRequest } = await import('../../src/approvals/approval-store.ts');
    const err = await w.db.kysely
      .transaction()
      .execute(async (trx) => {
        const r = await createApprovalRequest(
          trx,
          {
            kind: 'approval',
            runId: res.run.id,
            env: 'dev',
            dagId: 'revenue',
            dagVersion: 'v',
            paramsHash: 'h',
            requestedBy: eng,
            quorum: 1,
            reason: null,
            expiresAt: null,
          },
          Date.now(),
        );
        await castVote(trx, r, eng, 'approve', { currentDagVersion: 'v', now: Date.now() });
      })
      .catch((e) => e);
    expect(err.code).toBe('APPROVAL_SELF_VOTE');
    expect(err.message).toContain('eng@example.com requested this run and cannot approve it');
  });

  it('ends the request at the first eligible denial, and the run never starts', async () => {
    w = await createWorld(dialect);
    const res = await w.gate.trigger(w.ctx(eng), { dagId: 'revenue', params: { rows: 2_000_000 } });
    if (res.outcome !== 'awaiting_approval') throw new Error('expected approval');
    const denied = await voteOnApproval(w.gate, w.ctx(lead), res.approval.id, 'deny', { comment: 'too big' });
    expect(denied).toMatchObject({ runState: 'rejected' });
    expect(denied.approval.state).toBe('denied');
    const late = await voteOnApproval(w.gate, w.ctx(lead2), res.approval.id, 'approve').catch((e) => e);
    expect(late.code).toBe('APPROVAL_CLOSED');
  });

  it('expires a request at its deadline, with an injected clock: the run never starts', async () => {
    let now = Date.parse('2026-11-02T10:00:00Z');
    w = await createWorld(dialect, { clock: () => now });
    const res = await w.gate.trigger(w.ctx(eng), { dagId: 'revenue', params: { rows: 2_000_000 } });
    if (res.outcome !== 'awaiting_approval') throw new Error('expected approval');
    now += 3_600_000 + 1;
    const late = await voteOnApproval(w.gate, w.ctx(lead), res.approval.id, 'approve').catch((e) => e);
    expect(late.code).toBe('APPROVAL_EXPIRED');
    expect(late.message).toContain('the run will not start: trigger it again');
    const run = await w.db.kysely
      .selectFrom('runs')
      .selectAll()
      .where('id', '=', res.run.id)
      .executeTakeFirstOrThrow();
    expect(run.state).toBe('expired');
    expect(await expireApprovals(w.gate)).toBe(0);
  });

  it('refuses votes once the DAG changed since the request: approvals are bound to the DAG version', async () => {
    w = await createWorld(dialect);
    const res = await w.gate.trigger(w.ctx(eng), { dagId: 'revenue', params: { rows: 2_000_000 } });
    if (res.outcome !== 'awaiting_approval') throw new Error('expected approval');
    await w.db.kysely
      .updateTable('approval_requests')
      .set({ dag_version: 'older' })
      .where('id', '=', res.approval.id)
      .execute();
    const stale = await voteOnApproval(w.gate, w.ctx(lead), res.approval.id, 'approve').catch((e) => e);
    expect(stale.code).toBe('APPROVAL_STALE');
    expect(stale.message).toContain('trigger the run again');
  });

  it('refuses an approval bound to a params hash or DAG version other than the request’s with APPROVAL_STALE, and counts nothing', async () => {
    w = await createWorld(dialect);
    const small = await w.gate.trigger(w.ctx(eng), { dagId: 'revenue', params: { rows: 2_000_000 } });
    const big = await w.gate.trigger(w.ctx(eng), { dagId: 'revenue', params: { rows: 9_000_000 } });
    if (small.outcome !== 'awaiting_approval' || big.outcome !== 'awaiting_approval')
      throw new Error('expected approval');
    // The lead was shown the small run's request, but the vote names the big one.
    const stale = await voteOnApproval(
      w.gate,
      w.ctx(lead),
      big.approval.id,
      'approve',
      shown(small.approval),
    ).catch((e) => e);
    expect(stale.code).toBe('APPROVAL_STALE');
    expect(stale.message).toBe(
      `you were shown params hash ${small.approval.params_hash} (the request's is ${big.approval.params_hash}) of approval request ${big.approval.id}: what you saw is not what would run. Look at the request again and vote on what it holds`,
    );
    const version = await voteOnApproval(w.gate, w.ctx(lead), big.approval.id, 'approve', {
      ...shown(big.approval),
      dagVersion: 'an-older-version',
    }).catch((e) => e);
    expect(version.code).toBe('APPROVAL_STALE');
    expect(version.message).toContain(
      `you were shown DAG version an-older-version (the request's is ${big.approval.dag_version})`,
    );
    const denyStale = await voteOnApproval(
      w.gate,
      w.ctx(lead),
      big.approval.id,
      'deny',
      shown(small.approval),
    ).catch((e) => e);
    expect(denyStale.code).toBe('APPROVAL_STALE');
    expect(await w.db.kysely.selectFrom('approval_votes').selectAll().execute()).toEqual([]);
    const counted = await voteOnApproval(
      w.gate,
      w.ctx(lead),
      big.approval.id,
      'approve',
      shown(big.approval),
    );
    expect(counted).toMatchObject({ approvals: 1, quorum: 2, runState: 'awaiting_approval' });
  });

  it('refuses an approval that does not say which params hash and DAG version the voter was shown, naming what to send', async () => {
    w = await createWorld(dialect);
    const res = await w.gate.trigger(w.ctx(eng), { dagId: 'revenue', params: { rows: 2_000_000 } });
    if (res.outcome !== 'awaiting_approval') throw new Error('expected approval');
    const bare = await voteOnApproval(w.gate, w.ctx(lead), res.approval.id, 'approve', {
      paramsHash: res.approval.params_hash,
    }).catch((e) => e);
    expect(bare.code).toBe('REQUEST_INVALID');
    expect(bare.message).toBe(
      `to approve request ${res.approval.id}, send the params hash and DAG version you were shown (paramsHash and dagVersion: the request's params_hash and dag_version), so that the approval binds to what you saw`,
    );
    expect(bare.details).toEqual({ missing: ['dagVersion'] });
    // A denial needs no binding: it can only stop a run.
    const denied = await voteOnApproval(w.gate, w.ctx(lead), res.approval.id, 'deny');
    expect(denied.runState).toBe('rejected');
  });

  it('records every refused vote with its code, outside the refused transaction', async () => {
    let now = Date.parse('2026-11-02T10:00:00Z');
    w = await createWorld(dialect, { clock: () => now });
    // One who asks and may approve: only the store's self-vote rule stops them.
    const both = user('both@example.com', ['data-eng', 'data-leads']);
    const own = await w.gate.trigger(w.ctx(both), { dagId: 'revenue', params: { rows: 2_000_000 } });
    const open = await w.gate.trigger(w.ctx(eng), { dagId: 'revenue', params: { rows: 3_000_000 } });
    const closing = await w.gate.trigger(w.ctx(eng), { dagId: 'revenue', params: { rows: 4_000_000 } });
    if (own.outcome !== 'awaiting_approval' || open.outcome !== 'awaiting_approval')
      throw new Error('approval');
    if (closing.outcome !== 'awaiting_approval') throw new Error('expected approval');
    const refusal = (p: Promise<unknown>) =>
      p.then(
        () => 'accepted',
        (e) => e.code as string,
      );
    const vote = (who: Principal, id: string, v: 'approve' | 'deny', s: object = {}) =>
      refusal(voteOnApproval(w!.gate, w!.ctx(who), id, v, s));
    expect(await vote(both, own.approval.id, 'approve', shown(own.approval))).toBe('APPROVAL_SELF_VOTE');
    expect(await vote(eng2, open.approval.id, 'approve', shown(open.approval))).toBe('POLICY_DENIED');
    expect(await vote(lead, open.approval.id, 'approve', shown(open.approval))).toBe('accepted');
    expect(await vote(lead, open.approval.id, 'approve', shown(open.approval))).toBe(
      'APPROVAL_DUPLICATE_VOTE',
    );
    expect(await vote(lead2, open.approval.id, 'approve', shown(own.approval))).toBe('APPROVAL_STALE');
    expect(await vote(lead, closing.approval.id, 'deny')).toBe('accepted');
    expect(await vote(lead2, closing.approval.id, 'deny')).toBe('APPROVAL_CLOSED');
    expect(await vote(lead, 'no-such-request', 'deny')).toBe('APPROVAL_NOT_FOUND');
    now += 3_600_000 + 1;
    expect(await vote(lead2, open.approval.id, 'approve', shown(open.approval))).toBe('APPROVAL_EXPIRED');

    const votes = await w.db.kysely
      .selectFrom('audit_records')
      .selectAll()
      .where('action', 'in', ['approve', 'deny'])
      .orderBy('seq')
      .execute();
    expect(
      votes.map((r) => [
        r.action,
        r.actor_id,
        r.approval_id,
        r.outcome,
        r.details && JSON.parse(r.details).code,
      ]),
    ).toEqual([
      ['approve', 'both@example.com', own.approval.id, 'refused', 'APPROVAL_SELF_VOTE'],
      ['approve', 'eng2@example.com', open.approval.id, 'denied', 'POLICY_DENIED'],
      ['approve', 'lead@example.com', open.approval.id, 'recorded', undefined],
      ['approve', 'lead@example.com', open.approval.id, 'refused', 'APPROVAL_DUPLICATE_VOTE'],
      ['approve', 'lead2@example.com', open.approval.id, 'refused', 'APPROVAL_STALE'],
      ['deny', 'lead@example.com', closing.approval.id, 'denied', undefined],
      ['deny', 'lead2@example.com', closing.approval.id, 'refused', 'APPROVAL_CLOSED'],
      ['deny', 'lead@example.com', 'no-such-request', 'refused', 'APPROVAL_NOT_FOUND'],
      ['approve', 'lead2@example.com', open.approval.id, 'refused', 'APPROVAL_EXPIRED'],
    ]);
    const stale = JSON.parse(votes[4]!.details!);
    expect(stale.message).toContain('what you saw is not what would run');
    expect(stale.shown).toEqual({
      paramsHash: own.approval.params_hash,
      dagVersion: own.approval.dag_version,
    });
    expect((await verifyChain(w.db)).ok).toBe(true);
  });

  it('lets on-call break glass: the run starts flagged and a review stays pending until someone else does it', async () => {
    w = await createWorld(dialect);
    await w.engine.start();
    const noReason = await w.gate
      .breakGlass(w.ctx(oncall), { dagId: 'revenue', reason: ' ' })
      .catch((e) => e);
    expect(noReason.code).toBe('REQUEST_INVALID');
    const denied = await w.gate
      .breakGlass(w.ctx(eng), { dagId: 'revenue', reason: 'outage' })
      .catch((e) => e);
    expect(denied.code).toBe('POLICY_DENIED');
    const { run, review } = await w.gate.breakGlass(w.ctx(oncall), {
      dagId: 'revenue',
      params: { rows: 5_000_000 },
      reason: 'board report due',
    });
    expect(run.break_glass).toBe(true);
    expect(review).toMatchObject({ kind: 'review', state: 'pending' });
    expect(await w.engine.waitForRun(run.id)).toBe('success');
    const self = await voteOnApproval(w.gate, w.ctx(oncall), review.id, 'review').catch((e) => e);
    expect(self.code).toBe('POLICY_DENIED');
    const done = await voteOnApproval(w.gate, w.ctx(lead), review.id, 'review', { comment: 'justified' });
    expect(done.approval.state).toBe('reviewed');
  });

  it('runs schedules as Service::"scheduler" through the gate, and DAG-to-DAG triggers as the DAG’s service', async () => {
    let now = Date.parse('2026-11-02T10:00:30Z');
    w = await createWorld(dialect, { clock: () => now });
    await w.engine.start();
    await w.scheduler.tick();
    now += 3_600_000;
    const [tick] = await w.scheduler.tick();
    expect(tick).toMatchObject({ dagId: 'cleanup', outcome: 'started' });
    expect(await w.engine.waitForRun(tick!.runId!)).toBe('success');
    const triggered = await w.db.kysely
      .selectFrom('runs')
      .selectAll()
      .where('dag_id', '=', 'revenue')
      .executeTakeFirstOrThrow();
    expect(triggered).toMatchObject({
      source: 'dag',
      requested_by: 'dag:dev/cleanup',
      requested_by_kind: 'service',
    });
    const records = await auditRows(w, 'trigger');
    expect(records.map((r) => [r.actor_id, r.source, r.outcome])).toEqual([
      ['scheduler', 'schedule', 'started'],
      ['dag:dev/cleanup', 'dag', 'started'],
    ]);
  });

  it('fails closed: when the audit record cannot be written, the trigger is refused and no run exists', async () => {
    w = await createWorld(dialect);
    await sql`drop table audit_records`.execute(w.db.kysely);
    const err = await w.gate.trigger(w.ctx(eng), { dagId: 'revenue' }).catch((e) => e);
    expect(err.code).toBe('AUDIT_UNAVAILABLE');
    expect(await w.db.kysely.selectFrom('runs').selectAll().execute()).toEqual([]);
  });

  it('stores sensitive params as HMACs in the trail, never in plaintext', async () => {
    w = await createWorld(dialect);
    await w.gate.trigger(w.ctx(eng), { dagId: 'revenue', params: { apiKey: 'sk-live-very-secret' } });
    const [record] = await auditRows(w, 'trigger');
    expect(record!.params).not.toContain('sk-live-very-secret');
    expect(JSON.parse(record!.params!).apiKey).toMatch(/^hmac:[0-9a-f]{64}$/);
  });

  it('shows only what the caller may view, with what it may do, and guards logs and cancellation', async () => {
    w = await createWorld(dialect);
    await w.engine.start();
    const dags = await listDagsFor(w.gate, w.ctx(eng));
    expect(dags.map((d) => [d.dagId, d.trigger])).toEqual([
      ['cleanup', 'allow'],
      ['revenue', 'allow'],
    ]);
    expect(await listDagsFor(w.gate, w.ctx(outsider))).toEqual([]);
    const res = await w.gate.trigger(w.ctx(eng), { dagId: 'revenue' });
    await w.engine.waitForRun(res.run.id);
    expect((await getRunFor(w.gate, w.ctx(lead), res.run.id)).tasks).toHaveLength(2);
    const hidden = await getRunFor(w.gate, w.ctx(outsider), res.run.id).catch((e) => e);
    expect(hidden.code).toBe('POLICY_DENIED');
    const logs = await readLogsFor(w.gate, w.ctx(outsider), res.run.id).catch((e) => e);
    expect(logs.code).toBe('POLICY_DENIED');
    const cancel = await cancelRunFor(w.gate, w.ctx(lead), res.run.id).catch((e) => e);
    expect(cancel.code).toBe('POLICY_DENIED');
    expect((await auditRows(w, 'cancel')).map((r) => r.outcome)).toEqual(['denied']);
  });
});
