import { afterEach, describe, expect, it } from 'vitest';
import { cancelRunFor } from '../../src/gate/gate-reads.ts';
import { voteOnApproval } from '../../src/gate/vote.ts';
import { replayDecisions } from '../../src/policy/replay-decisions.ts';
import { createWorld, DAGS, eng, lead, oncall, outsider, type World } from '../helpers/gate-world.ts';
import { DIALECTS } from '../helpers/test-db.ts';

const ONCALL_RULE = `@reason("on-call breaks glass")
permit (principal in Group::"oncall", action == Action::"breakGlass", resource);`;

describe.each(DIALECTS)('policy replay on %s', (dialect) => {
  let w: World | undefined;
  afterEach(async () => {
    await w?.dispose();
    w = undefined;
  });

  /** Real decisions through the gate; returns the seq of each record by name. */
  async function decide(world: World) {
    const small = await world.gate.trigger(world.ctx(eng), { dagId: 'revenue', params: { rows: 10 } });
    const big = await world.gate.trigger(world.ctx(eng), { dagId: 'revenue', params: { rows: 2_000_000 } });
    await world.gate.trigger(world.ctx(outsider), { dagId: 'revenue' }).catch(() => {});
    if (big.outcome !== 'awaiting_approval') throw new Error('expected an approval request');
    await voteOnApproval(world.gate, world.ctx(lead), big.approval.id, 'approve', {
      paramsHash: big.approval.params_hash,
      dagVersion: big.approval.dag_version,
    });
    await world.gate.breakGlass(world.ctx(oncall), { dagId: 'revenue', reason: 'outage' });
    await world.gate.trigger(world.ctx(eng), { dagId: 'revenue', params: { rows: 20, apiKey: 'sk-test' } });
    await cancelRunFor(world.gate, world.ctx(lead), small.run.id).catch(() => {});
    await cancelRunFor(world.gate, world.ctx(eng), small.run.id);
    const rows = await world.db.kysely
      .selectFrom('audit_records')
      .select(['seq', 'action', 'actor_id'])
      .orderBy('seq')
      .execute();
    const seq = (action: string, actor: string, nth = 0) =>
      Number(rows.filter((r) => r.action === action && r.actor_id === actor)[nth]!.seq);
    return {
      small: seq('trigger', 'eng@example.com'),
      big: seq('trigger', 'eng@example.com', 1),
      outsider: seq('trigger', 'guest@example.com'),
      approve: seq('approve', 'lead@example.com'),
      breakGlass: seq('breakGlass', 'oncall@example.com'),
      secret: seq('trigger', 'eng@example.com', 2),
      leadCancel: seq('cancel', 'lead@example.com'),
      engCancel: seq('cancel', 'eng@example.com'),
    };
  }

  it('finds nothing to change when the policies are the ones that decided', async () => {
    w = await createWorld(dialect);
    await decide(w);
    const report = await replayDecisions(w.db, w.policy, { since: 0 });
    expect(report).toMatchObject({ examined: 8, unchanged: 8, changed: [], notReplayable: [] });
  });

  it('lists every decision a policy change would change, with the new effect and determining policies', async () => {
    w = await createWorld(dialect);
    const seq = await decide(w);
    w.write({
      'dags/revenue.cedar': `${DAGS['dags/revenue.cedar']}
@reason("more than 5 rows needs approval now")
forbid (principal, action == Action::"trigger", resource) when { context.params.rows > 5 };
forbid (principal, action == Action::"requestTrigger", resource) when { context.params has apiKey && context.params.apiKey == "sk-test" };
`,
      'policies/roles.cedar': `${DAGS['policies/roles.cedar']!.replace(ONCALL_RULE, '')}
@reason("visitors may ask")
permit (principal in Group::"visitors", action == Action::"requestTrigger", resource);
`,
    });
    const loaded = await w.policies.load();
    if (!loaded.ok) throw loaded.error;
    const report = await replayDecisions(w.db, w.policy, { since: 0 });
    expect(report.examined).toBe(8);
    expect(report.unchanged).toBe(4);
    expect(report.changed.map((c) => [c.seq, c.action, c.actor, c.recorded, c.replayed])).toEqual([
      [seq.small, 'trigger', 'User::"eng@example.com"', 'allow', 'approval'],
      [seq.outsider, 'trigger', 'User::"guest@example.com"', 'deny', 'approval'],
      [seq.breakGlass, 'breakGlass', 'User::"oncall@example.com"', 'allow', 'deny'],
    ]);
    const [small, outsiderChange, breakGlass] = report.changed;
    expect(small!.resource).toMatch(/^dev\/revenue run \S+$/);
    expect(small!.policies).toEqual(
      expect.arrayContaining([expect.stringMatching(/^policies\/roles\.cedar:\d+$/)]),
    );
    expect(outsiderChange!.reasons).toEqual(['visitors may ask']);
    expect(breakGlass!.reasons).toEqual(['no policy permits breakGlass on this dag (deny by default)']);
    expect(report.notReplayable).toEqual([
      expect.objectContaining({
        seq: seq.secret,
        action: 'trigger',
        recorded: 'allow',
        why: 'reads sensitive param apiKey, stored only as an HMAC',
      }),
    ]);
  });

  it('replays only the window it is given', async () => {
    w = await createWorld(dialect);
    const seq = await decide(w);
    const rows = await w.db.kysely.selectFrom('audit_records').select(['seq', 'ts']).orderBy('seq').execute();
    const ts = (s: number) => Number(rows.find((r) => Number(r.seq) === s)!.ts);
    const later = await replayDecisions(w.db, w.policy, { since: ts(seq.engCancel) + 1 });
    expect(later.examined).toBe(0);
    const first = await replayDecisions(w.db, w.policy, { since: 0, until: ts(seq.small) + 1 });
    expect(first.examined).toBeGreaterThanOrEqual(1);
  });
});
