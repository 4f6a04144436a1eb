import { afterEach, describe, expect, it } from 'vitest';
import { PolicyFixture, triggerRequest, user } from './policy-fixture.ts';

let fx: PolicyFixture;
afterEach(() => fx?.remove());

describe('CedarPolicyStore', () => {
  it('rejects a policy reading context.params.rowz with file, line and Cedar hint', async () => {
    fx = new PolicyFixture({
      'dags/revenue.cedar': `// rows, not rowz
permit (principal, action == Action::"trigger", resource)
when { context.params.rowz > 10 };`,
    });
    const result = await fx.store.load();
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('POLICY_INVALID');
    expect(result.problems[0]).toMatchObject({
      file: 'dags/revenue.cedar',
      line: 3,
      help: 'did you mean `rows`?',
    });
    expect(result.error.message).toMatch(
      /dags\/revenue.cedar:3:\d+: .*`params.rowz`.*not found \(hint: did you mean `rows`\?\)/,
    );
  });

  it('keeps the previous set active when a reload is broken, so an invalid policy never opens access', async () => {
    fx = new PolicyFixture({
      'policies/roles.cedar': 'permit (principal in Group::"data-leads", action, resource);',
    });
    expect((await fx.store.load()).ok).toBe(true);
    const eve = user('eve@x.test', ['marketing']);
    fx.write({
      'policies/roles.cedar': 'permit (principal, action, resource);\npermit (principal,, action, resource);',
    });
    const result = await fx.store.load();
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('POLICY_INVALID');
    expect(result.error.message).toMatch(/generation 1 stays active/);
    expect(result.error.message).toMatch(/policies\/roles.cedar:2:\d+: .*unexpected token/);
    expect(fx.store.current()?.generation).toBe(1);
    expect(fx.engine.decide(triggerRequest(eve, 'prod')).effect).toBe('deny');
    expect(fx.engine.decide(triggerRequest(user('lea@x.test', ['data-leads']), 'prod')).effect).toBe('allow');
  });

  it('tells a shared policy that reads params to move beside the DAG', async () => {
    fx = new PolicyFixture({
      'policies/shared.cedar':
        'permit (principal, action == Action::"trigger", resource) when { context.params.rows > 1 };',
    });
    const result = await fx.store.load();
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.message).toMatch(
      /policies\/shared.cedar:1:\d+: .*shared policy files cannot read context.params/,
    );
  });

  it('swaps in a fixed set atomically on the next load', async () => {
    fx = new PolicyFixture({
      'policies/roles.cedar': 'permit (principal in Group::"data-leads", action, resource);',
    });
    await fx.store.load();
    fx.write({ 'policies/roles.cedar': 'permit (principal in Group::"marketing", action, resource);' });
    const result = await fx.store.load();
    expect(result).toMatchObject({ ok: true, generation: 2, policyCount: 1 });
    expect(fx.engine.decide(triggerRequest(user('eve@x.test', ['marketing']), 'prod')).effect).toBe('allow');
    expect(fx.engine.decide(triggerRequest(user('lea@x.test', ['data-leads']), 'prod')).effect).toBe('deny');
  });
});
