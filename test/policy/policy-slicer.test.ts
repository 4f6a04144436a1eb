import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/identity/principal.ts';
import { servicePrincipal } from '../../src/identity/principal.ts';
import { buildCedarRequest } from '../../src/policy/build-cedar-request.ts';
import { ACTIONS } from '../../src/policy/cedar-names.ts';
import { scopeFor } from '../../src/policy/cedar-policy-engine.ts';
import type { PolicyRequest, PolicyResource } from '../../src/policy/policy-engine.ts';
import type { PreparsedScope } from '../../src/policy/policy-store.ts';
import { PolicyFixture, user, WEDNESDAY } from './policy-fixture.ts';

const SHARED = `
permit (principal in Group::"data-eng", action in Action::"operate", resource in Env::"staging");
permit (principal in Group::"data-eng", action == Action::"requestTrigger", resource in Env::"prod");
permit (principal == User::"ana@x.test", action in [Action::"view", Action::"readLogs"], resource);
permit (principal is Service in Group::"bots", action == Action::"trigger", resource is Dag in Env::"prod")
when { context.source == "schedule" };
forbid (principal in Group::"contractors", action in Action::"operate", resource);
permit (principal is User, action == Action::"approve", resource is ApprovalRequest)
when { context.token.mfa && context.token has authAgeSeconds && context.token.authAgeSeconds < 600 };
permit (principal, action == Action::"readAudit", resource == Env::"prod") when { context.token.scopes.contains("audit") };
permit (principal, action == Action::"cancel", resource is Run in Dag::"prod/revenue")
when { resource.requestedBy == "User::\\"ana@x.test\\"" };
forbid (principal, action, resource in Env::"prod") when { context.time.weekday == "sat" };
permit (principal in Group::"leads", action, resource);
permit (principal is User, action == Action::"view", resource) when { principal has displayName };
permit (principal, action == Action::"readLogs", resource == Dag::"staging/revenue");
permit (principal is User in Group::"leads", action == Action::"cancel", resource in Env::"prod")
when { principal in Group::"owners" && action in Action::"operate" };
permit (principal, action in Action::"operate", resource is Run)
when { resource in Env::"staging" && resource.dag in Env::"staging" };
`;
const LOCAL = `
forbid (principal, action == Action::"trigger", resource) when { context.params.rows > 1000000 };
permit (principal in Group::"owners", action in Action::"operate", resource) unless { context.params.dryRun };
`;

const principals: Principal[] = [
  user('ana@x.test', ['data-eng'], { amr: ['pwd', 'mfa'], scopes: ['audit'], authTime: 1717581000 }),
  user('bo@x.test', ['data-eng', 'contractors'], { amr: ['pwd'], scopes: [] }),
  user('cy@x.test', ['owners', 'leads']),
  user('di@x.test', []),
  { ...user('ed@x.test', []), displayName: 'Ed' },
  { ...servicePrincipal('scheduler'), groups: ['bots'] },
  servicePrincipal('other'),
];

function resources(env: string): PolicyResource[] {
  const dag = { env, dagId: 'revenue' };
  return [
    { kind: 'env', env },
    { kind: 'dag', ...dag },
    { kind: 'run', ...dag, runId: 'r1', requestedBy: 'User::"ana@x.test"' },
    { kind: 'approvalRequest', ...dag, requestId: 'a1', requestedBy: 'User::"bo@x.test"' },
  ];
}

let fx: PolicyFixture;
afterEach(() => fx?.remove());

describe('PolicySlicer', () => {
  it('decides every request on its slice exactly as Cedar decides it on the whole set with the whole context', async () => {
    fx = new PolicyFixture({ 'policies/roles.cedar': SHARED, 'dags/revenue.cedar': LOCAL });
    const loaded = await fx.store.load();
    if (!loaded.ok) throw loaded.error;
    const active = fx.store.current()!;
    let compared = 0;
    let smaller = 0;
    let allowed = 0;
    let noEntities = 0;
    for (const env of ['staging', 'prod'])
      for (const resource of resources(env))
        for (const principal of principals)
          for (const action of ACTIONS)
            for (const [now, rows, dryRun, source] of [
              [WEDNESDAY, 10, false, 'api'],
              [new Date('2024-06-08T10:00:00Z'), 2_000_000, true, 'schedule'],
            ] as const) {
              const request: PolicyRequest = {
                principal,
                action,
                resource,
                context: { params: { rows, dryRun }, now, source },
              };
              const scope = scopeFor(active, request) as PreparsedScope;
              const slice = scope.slicer.sliceFor(request);
              const whole = ask(buildCedarRequest(request, scope.dag), scope.setId);
              const built = buildCedarRequest(request, scope.dag, slice.usage);
              const sliced = ask(built, slice.setId);
              if (!Array.isArray(built) && built.entities.length === 0) noEntities++;
              expect({ action, principal: principal.id, resource, ...sliced }).toEqual({
                action,
                principal: principal.id,
                resource,
                ...whole,
              });
              compared++;
              if (whole.decision === 'allow') allowed++;
              if (slice.policyIds.length < scope.policyIds.length) smaller++;
            }
    expect(compared).toBe(2 * 4 * principals.length * ACTIONS.length * 2);
    expect(smaller).toBeGreaterThan(compared * 0.9);
    expect(allowed).toBeGreaterThan(20);
    // Scopes the slicer tested exactly are not Cedar's to test again: most requests need no entity.
    expect(noEntities).toBeGreaterThan(compared * 0.9);
  });

  it('falls back to the whole set when a request is malformed, so the engine reports it', async () => {
    fx = new PolicyFixture({ 'policies/roles.cedar': SHARED });
    const loaded = await fx.store.load();
    if (!loaded.ok) throw loaded.error;
    const scope = fx.store.current()!.scopes.get('prod/revenue')!;
    const bad = {
      action: 'trigger',
      resource: { kind: 'dag', env: 'prod', dagId: 'revenue' },
    } as PolicyRequest;
    expect(scope.slicer.sliceFor(bad).setId).toBe(scope.setId);
  });
});

function ask(built: ReturnType<typeof buildCedarRequest>, setId: string) {
  if (Array.isArray(built)) throw new Error(built.join('; '));
  const answer = cedar.statefulIsAuthorized({ ...built, preparsedPolicySetId: setId });
  if (answer.type === 'failure') throw new Error(answer.errors.map((e) => e.message).join('; '));
  const { decision, diagnostics } = answer.response;
  return {
    decision,
    reason: [...diagnostics.reason].sort(),
    errors: diagnostics.errors.map((e) => `${e.policyId}: ${e.error.message}`).sort(),
  };
}
