import { afterEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/test-db.ts';
import { type HttpWorld, startHttpWorld } from './http-world.ts';

describe.each(DIALECTS)('cancelling a run that awaits approval, over HTTP on %s', (dialect) => {
  let h: HttpWorld | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('closes its approval request as cancelled with a record, drops it from inboxes, and answers a later vote with 409 APPROVAL_CLOSED', async () => {
    h = await startHttpWorld({ dialect });
    const eng = await h.token('eng@example.com', 'openid airclutch:trigger');
    const lead = await h.token('lead@example.com');
    const lead2 = await h.token('lead2@example.com');
    const asked = await h.call('POST', '/api/v1/dags/revenue/runs', {
      token: eng,
      body: { params: { rows: 3_000_000 } },
    });
    expect(asked.status).toBe(202);
    const runId: string = asked.json.run.id;
    const approvalId: string = asked.json.approval.id;
    const shown = {
      paramsHash: asked.json.approval.params_hash,
      dagVersion: asked.json.approval.dag_version,
    };
    const first = await h.call('POST', `/api/v1/approvals/${approvalId}/approve`, {
      token: lead,
      body: shown,
    });
    expect(first.json).toMatchObject({ approvals: 1, quorum: 2, runState: 'awaiting_approval' });

    const cancelled = await h.call('POST', `/api/v1/runs/${runId}/cancel`, {
      token: eng,
      body: { reason: 'wrong day' },
    });
    expect(cancelled.status).toBe(200);
    expect(cancelled.json.run.state).toBe('cancelled');

    const request = await h.world.db.kysely
      .selectFrom('approval_requests')
      .select(['state', 'decided_at'])
      .where('id', '=', approvalId)
      .executeTakeFirstOrThrow();
    expect(request.state).toBe('cancelled');
    expect(request.decided_at).not.toBeNull();
    const inbox = await h.call('GET', '/api/v1/approvals', { token: lead2 });
    expect(inbox.json.actionable.map((a: { id: string }) => a.id)).not.toContain(approvalId);

    const records = await h.world.db.kysely
      .selectFrom('audit_records')
      .select(['action', 'outcome', 'approval_id', 'actor_id'])
      .where('run_id', '=', runId)
      .orderBy('seq')
      .execute();
    expect(records.map((r) => [r.action, r.outcome])).toEqual([
      ['trigger', 'awaiting_approval'],
      ['approve', 'recorded'],
      ['cancel', 'cancelling'],
      ['run.state', 'cancelled'],
      ['approval.cancel', 'cancelled'],
    ]);
    expect(records[4]).toMatchObject({ approval_id: approvalId, actor_id: 'eng@example.com' });

    const late = await h.call('POST', `/api/v1/approvals/${approvalId}/approve`, {
      token: lead2,
      body: shown,
    });
    expect(late.status).toBe(409);
    expect(late.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(late.json.code).toBe('APPROVAL_CLOSED');
    expect(late.json.detail).toBe(`approval request ${approvalId} is already cancelled`);
    const run = await h.world.db.kysely
      .selectFrom('runs')
      .select('state')
      .where('id', '=', runId)
      .executeTakeFirstOrThrow();
    expect(run.state).toBe('cancelled');
  });
});
