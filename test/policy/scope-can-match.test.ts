import { describe, expect, it } from 'vitest';
import * as cedar from '../../src/policy/cedar.ts';
import { compileScope } from '../../src/policy/scope-can-match.ts';

function scopeOf(text: string) {
  const json = cedar.policyToJson(text);
  if (json.type === 'failure') throw new Error(json.errors.map((e) => e.message).join('; '));
  return compileScope(json.json);
}

describe('compileScope', () => {
  it('calls a scope exact when every constraint is one it tests as Cedar would', () => {
    for (const text of [
      'permit (principal, action, resource);',
      'permit (principal in Airclutch::Group::"eng", action in Action::"operate", resource in Airclutch::Env::"prod");',
      'permit (principal == Airclutch::User::"ana@x.test", action in [Action::"view", Action::"readLogs"], resource == Airclutch::Dag::"prod/revenue");',
      'permit (principal is Airclutch::Service in Airclutch::Group::"bots", action == Action::"trigger", resource is Airclutch::Run in Airclutch::Dag::"prod/revenue");',
    ])
      expect(scopeOf(text).exact, text).toBe(true);
  });

  it('leaves a scope it does not understand to Cedar: a template slot, an action that is not an Action', () => {
    const json = cedar.policyToJson('permit (principal, action == Action::"view", resource);');
    if (json.type === 'failure') throw new Error('unparsed');
    const templated = compileScope({ ...json.json, principal: { op: '==', slot: '?principal' } } as never);
    expect(templated).toMatchObject({ exact: false });
    // It may match any principal, so the policy stays a candidate for Cedar to decide.
    expect(
      templated.test({ action: 'view', principalType: 'Airclutch::User', principalId: 'x' } as never),
    ).toBe(true);
    const odd = compileScope({
      ...json.json,
      action: { op: '==', entity: { type: 'Airclutch::Dag', id: 'view' } },
    } as never);
    expect(odd.exact).toBe(false);
  });
});
