import { afterEach, describe, expect, it } from 'vitest';
import { auditReadNotice, authorizeWholeTrail, queryAuditFor } from '../../src/gate/audit-reads.ts';
import { createWorld, eng, lead, type World } from '../helpers/gate-world.ts';
import { DIALECTS } from '../helpers/test-db.ts';

const AUDIT_POLICY = {
  'policies/audit.cedar': `@reason("leads read the audit trail")
permit (principal in Group::"data-leads", action == Action::"readAudit", resource);
`,
};

describe.each(DIALECTS)('reading the audit trail through the gate on %s', (dialect) => {
  let w: World | undefined;
  afterEach(async () => {
    await w?.dispose();
    w = undefined;
  });

  it('refuses the whole trail to a caller without readAudit, naming what would allow it, and records the refusal', async () => {
    w = await createWorld(dialect, { files: AUDIT_POLICY });
    const ctx = w.ctx(eng);
    await expect(authorizeWholeTrail(w.gate, ctx)).rejects.toMatchObject({
      code: 'POLICY_DENIED',
      message:
        'User::"eng@example.com" may not readAudit environment dev: no policy permits readAudit on this env (deny by default). what would allow it: policies/audit.cedar:1 would allow members of Group::"data-leads"',
    });
    const rows = await w.db.kysely
      .selectFrom('audit_records')
      .selectAll()
      .where('action', '=', 'readAudit')
      .execute();
    expect(rows).toMatchObject([
      {
        actor_id: 'eng@example.com',
        env: 'dev',
        request_id: ctx.requestId,
        decision_effect: 'deny',
        outcome: 'denied',
      },
    ]);
    await expect(authorizeWholeTrail(w.gate, w.ctx(lead))).resolves.toBeUndefined();
  });

  it('shows a query only the records the caller may read, and refuses a query of an environment they may not read', async () => {
    w = await createWorld(dialect, { files: AUDIT_POLICY });
    const { run } = await w.gate.trigger(w.ctx(eng), { dagId: 'revenue', params: { rows: 5 } });
    expect((await queryAuditFor(w.gate, w.ctx(eng), { action: 'trigger' })).records).toEqual([]);
    expect(auditReadNotice(w.gate, w.ctx(eng))).toBe(
      'User::"eng@example.com" may not readAudit any environment or DAG: no policy permits readAudit on this env (deny by default). what would allow it: policies/audit.cedar:1 would allow members of Group::"data-leads"',
    );
    expect(auditReadNotice(w.gate, w.ctx(lead))).toBeUndefined();
    const page = await queryAuditFor(w.gate, w.ctx(lead), { action: 'trigger' });
    expect(page.records).toMatchObject([
      { action: 'trigger', resource: { runId: run.id }, outcome: 'started' },
    ]);
    await expect(queryAuditFor(w.gate, w.ctx(eng), { env: 'dev' })).rejects.toMatchObject({
      code: 'POLICY_DENIED',
      message: expect.stringMatching(/^User::"eng@example.com" may not readAudit environment dev: /),
    });
  });

  it('gives no notice to a caller who may read the trail of one DAG only', async () => {
    w = await createWorld(dialect, {
      files: {
        'policies/audit.cedar': `permit (principal in Group::"data-eng", action == Action::"readAudit", resource == Dag::"dev/revenue");
`,
      },
    });
    expect(auditReadNotice(w.gate, w.ctx(eng))).toBeUndefined();
    expect(auditReadNotice(w.gate, w.ctx(eng), 'revenue')).toBeUndefined();
    // A query of another DAG: nothing there may be shown to eng.
    expect(auditReadNotice(w.gate, w.ctx(eng), 'cleanup')).toMatch(
      /^User::"eng@example.com" may not readAudit any environment or DAG cleanup: /,
    );
    expect(auditReadNotice(w.gate, w.ctx(lead))).toMatch(/^User::"lead@example.com" may not readAudit /);
  });
});
