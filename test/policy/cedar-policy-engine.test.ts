import { afterEach, describe, expect, it } from 'vitest';
import { servicePrincipal } from '../../src/identity/principal.ts';
import { decideTrigger } from '../../src/policy/decide-trigger.ts';
import { PolicyFixture, triggerRequest, user, WEDNESDAY } from './policy-fixture.ts';

const ROLES = `
@reason("data-eng operates in staging")
permit (principal in Group::"data-eng", action in Action::"operate", resource in Env::"staging");

@reason("in prod, data-eng asks for approval")
permit (principal in Group::"data-eng", action == Action::"requestTrigger", resource in Env::"prod");

permit (principal in Group::"data-leads", action in Action::"operate", resource);

@reason("contractors never start runs")
forbid (principal in Group::"contractors", action in Action::"operate", resource);
`;

let fx: PolicyFixture;
afterEach(() => fx?.remove());

async function loaded(files: Record<string, string>): Promise<PolicyFixture> {
  fx = new PolicyFixture(files);
  const result = await fx.store.load();
  if (!result.ok) throw result.error;
  return fx;
}

describe('CedarPolicyEngine', () => {
  it('allows a request a permit matches and names the policy with file:line and its reason', async () => {
    const { engine } = await loaded({ 'policies/roles.cedar': ROLES });
    const d = engine.decide(triggerRequest(user('ana@x.test', ['data-eng']), 'staging'));
    expect(d.effect).toBe('allow');
    expect(d.policies).toEqual(['policies/roles.cedar:2']);
    expect(d.reasons).toEqual(['data-eng operates in staging']);
    expect(d.errors).toEqual([]);
  });

  it('denies by default when no policy permits, and says so', async () => {
    const { engine } = await loaded({ 'policies/roles.cedar': ROLES });
    const d = engine.decide(triggerRequest(user('eve@x.test', ['marketing']), 'staging'));
    expect(d.effect).toBe('deny');
    expect(d.policies).toEqual([]);
    expect(d.reasons).toEqual(['no policy permits trigger on this dag (deny by default)']);
  });

  it('lets a forbid override a permit and names the forbid', async () => {
    const { engine } = await loaded({ 'policies/roles.cedar': ROLES });
    const d = engine.decide(triggerRequest(user('cy@x.test', ['data-leads', 'contractors']), 'prod'));
    expect(d.effect).toBe('deny');
    expect(d.policies).toEqual(['policies/roles.cedar:10']);
    expect(d.reasons).toEqual(['contractors never start runs']);
  });

  it('maps roles per environment: data-eng triggers in staging but needs approval in prod', async () => {
    const { engine } = await loaded({ 'policies/roles.cedar': ROLES });
    const ana = user('ana@x.test', ['data-eng']);
    expect(decideTrigger(engine, triggerRequest(ana, 'staging')).outcome).toBe('allow');
    const prod = decideTrigger(engine, triggerRequest(ana, 'prod'));
    expect(prod.outcome).toBe('approval');
    expect(prod.decision.policies).toEqual(['policies/roles.cedar:5']);
    expect(decideTrigger(engine, triggerRequest(user('eve@x.test', []), 'prod')).outcome).toBe('deny');
  });

  it('sends runs above a row count for approval through a params rule beside the DAG', async () => {
    const { engine } = await loaded({
      'policies/roles.cedar': ROLES,
      'dags/revenue.cedar': `@reason("more than 1M rows needs approval")
forbid (principal, action == Action::"trigger", resource) when { context.params.rows > 1000000 };`,
    });
    const lea = user('lea@x.test', ['data-leads']);
    expect(decideTrigger(engine, triggerRequest(lea, 'prod')).outcome).toBe('allow');
    const big = decideTrigger(
      engine,
      triggerRequest(lea, 'prod', { params: { rows: 2_000_000, dryRun: false } }),
    );
    expect(big.outcome).toBe('approval');
    expect(big.decisions.trigger.reasons).toEqual(['more than 1M rows needs approval']);
  });

  it('applies a time-based rule from context.time and context.now', async () => {
    const { engine } = await loaded({
      'policies/roles.cedar': ROLES,
      'policies/freeze.cedar': `forbid (principal, action == Action::"trigger", resource)
when { context.time.weekday == "sat" || context.now.toTime() >= duration("18h") };`,
    });
    const lea = user('lea@x.test', ['data-leads']);
    expect(engine.decide(triggerRequest(lea, 'prod')).effect).toBe('allow');
    const saturday = engine.decide(triggerRequest(lea, 'prod', { now: new Date('2024-06-08T10:00:00Z') }));
    expect(saturday.effect).toBe('deny');
    expect(saturday.policies).toEqual(['policies/freeze.cedar:1']);
    expect(engine.decide(triggerRequest(lea, 'prod', { now: new Date('2024-06-05T19:00:00Z') })).effect).toBe(
      'deny',
    );
  });

  it('allows the scheduler service only for scheduled runs', async () => {
    const { engine } = await loaded({
      'policies/scheduler.cedar': `permit (principal == Service::"scheduler", action == Action::"trigger", resource)
when { context.source == "schedule" };`,
    });
    const scheduler = servicePrincipal('scheduler');
    expect(engine.decide(triggerRequest(scheduler, 'prod', { source: 'schedule' })).effect).toBe('allow');
    expect(engine.decide(triggerRequest(scheduler, 'prod', { source: 'api' })).effect).toBe('deny');
    expect(
      engine.decide(triggerRequest(servicePrincipal('other'), 'prod', { source: 'schedule' })).effect,
    ).toBe('deny');
  });

  it('reads token facts: breakGlass needs MFA', async () => {
    const { engine } = await loaded({
      'policies/bg.cedar': `permit (principal in Group::"admins", action == Action::"breakGlass", resource) when { context.token.mfa };`,
    });
    const req = (amr: string[]) => ({
      ...triggerRequest(user('root@x.test', ['admins'], { amr, scopes: [] }), 'prod'),
      action: 'breakGlass' as const,
    });
    expect(engine.decide(req(['pwd', 'mfa'])).effect).toBe('allow');
    expect(engine.decide(req(['pwd'])).effect).toBe('deny');
  });

  it('denies a request with missing context and reports the error, even when a permit matches', async () => {
    const { engine } = await loaded({ 'policies/all.cedar': 'permit (principal, action, resource);' });
    const req = triggerRequest(user('ana@x.test', []), 'prod');
    const d = engine.decide({ ...req, context: { now: WEDNESDAY, source: 'api' } });
    expect(d.effect).toBe('deny');
    expect(d.errors).toEqual(["context.params is required for trigger: pass the run's validated params"]);
    const wrongType = engine.decide({
      ...req,
      context: { ...req.context, params: { rows: 'many', dryRun: false } },
    });
    expect(wrongType.effect).toBe('deny');
    expect(wrongType.errors[0]).toMatch(/rows/);
    const badSource = engine.decide({ ...req, context: { ...req.context, source: 'fax' as 'api' } });
    expect(badSource.errors[0]).toMatch(/context.source "fax" is not one of/);
  });

  it('denies requests for an unknown DAG or environment, naming it', async () => {
    const { engine } = await loaded({ 'policies/all.cedar': 'permit (principal, action, resource);' });
    const req = triggerRequest(user('ana@x.test', []), 'prod');
    const d = engine.decide({ ...req, resource: { kind: 'dag', env: 'prod', dagId: 'nope' } });
    expect(d.effect).toBe('deny');
    expect(d.errors).toEqual(['DAG prod/nope has no policies loaded: it is unknown in environment prod']);
    expect(engine.decide({ ...req, resource: { kind: 'dag', env: 'qa', dagId: 'revenue' } }).errors).toEqual([
      'environment qa is not configured',
    ]);
  });

  it('reports an evaluation error and fails closed when the erroring policy is a forbid', async () => {
    const { engine } = await loaded({
      'policies/all.cedar': 'permit (principal, action, resource);',
      'dags/revenue.cedar': `
forbid (principal, action == Action::"trigger", resource) when { context.params.rows * 9223372036854775807 > 0 };`,
    });
    const d = engine.decide(triggerRequest(user('ana@x.test', []), 'prod'));
    expect(d.effect).toBe('deny');
    expect(d.policies).toEqual(['dags/revenue.cedar:2']);
    expect(d.errors[0]).toMatch(/^dags\/revenue.cedar:2: .*overflow/);
    expect(d.reasons).toEqual([
      'forbid policy dags/revenue.cedar:2 failed to evaluate, so the request is denied',
    ]);
  });

  it('denies everything before any policy set has loaded', () => {
    fx = new PolicyFixture();
    const d = fx.engine.decide(triggerRequest(user('ana@x.test', []), 'prod'));
    expect(d.effect).toBe('deny');
    expect(d.errors).toEqual(['no policy set is loaded']);
  });

  it('explains a deny with the permits that would allow it', async () => {
    const { engine } = await loaded({ 'policies/roles.cedar': ROLES });
    const e = engine.explain(triggerRequest(user('eve@x.test', ['data-eng']), 'prod'));
    expect(e.decision.effect).toBe('deny');
    expect(e.wouldAllow).toEqual(['policies/roles.cedar:8 would allow members of Group::"data-leads"']);
  });
});

describe('CedarPolicyEngine memo of Cedar answers', () => {
  const ROWS = `
@reason("data-eng operates in staging")
permit (principal in Group::"data-eng", action in Action::"operate", resource in Env::"staging");
`;
  const BIG = `
@reason("big runs need approval")
forbid (principal, action == Action::"trigger", resource) when { context.params.rows > 5000 };
`;

  it('answers a request whose Cedar input was seen in this generation without asking Cedar again, with its own time', async () => {
    const { engine } = await loaded({ 'policies/roles.cedar': ROWS });
    const ana = user('ana@x.test', ['data-eng']);
    const first = engine.decide(triggerRequest(ana, 'staging'));
    const later = new Date(WEDNESDAY.getTime() + 60_000);
    // No policy reads the time, so the Cedar input is the same.
    const second = engine.decide(triggerRequest(ana, 'staging', { now: later }));
    expect(engine.cedarCalls).toBe(1);
    expect(second).toEqual({ ...first, decidedAt: later.getTime() });
    expect(second.reasons).toEqual(['data-eng operates in staging']);
  });

  it('asks Cedar again when anything a policy reads differs, and answers each request on its own input', async () => {
    const { engine } = await loaded({ 'policies/roles.cedar': ROWS, 'dags/revenue.cedar': BIG });
    const ana = user('ana@x.test', ['data-eng']);
    const small = engine.decide(triggerRequest(ana, 'staging'));
    const big = engine.decide(triggerRequest(ana, 'staging', { params: { rows: 9_000, dryRun: false } }));
    const outsider = engine.decide(triggerRequest(user('eve@x.test', ['marketing']), 'staging'));
    expect(engine.cedarCalls).toBe(3);
    expect(small.effect).toBe('allow');
    expect(big.effect).toBe('deny');
    expect(big.reasons).toEqual(['big runs need approval']);
    expect(outsider.effect).toBe('deny');
    expect(outsider.reasons).toEqual(['no policy permits trigger on this dag (deny by default)']);
  });

  it('never answers from an earlier generation: a reload that forbids is obeyed at once', async () => {
    const fixture = await loaded({ 'policies/roles.cedar': ROWS });
    const ana = user('ana@x.test', ['data-eng']);
    expect(fixture.engine.decide(triggerRequest(ana, 'staging')).effect).toBe('allow');
    fixture.write({
      'policies/freeze.cedar': `
@reason("staging is frozen")
forbid (principal, action in Action::"operate", resource in Env::"staging");
`,
    });
    const reloaded = await fixture.store.load();
    expect(reloaded.ok).toBe(true);
    const after = fixture.engine.decide(triggerRequest(ana, 'staging'));
    expect(fixture.engine.cedarCalls).toBe(2);
    expect(after.effect).toBe('deny');
    expect(after.reasons).toEqual(['staging is frozen']);
  });
});
