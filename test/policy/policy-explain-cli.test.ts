/**
 * `airclutch policy explain` and `policy test` say plainly why: a trigger that needs approval names
 * the votes it needs and the forbid that forced it, never a forbid as what "would allow" it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliWorld, cliWorld } from '../cli/cli-world.ts';
import { DAGS } from '../helpers/gate-world.ts';

let world: CliWorld;

const TESTS = `cases:
  - name: a big run needs approval
    principal: { id: eng@example.com, groups: [data-eng] }
    action: trigger
    resource: { env: dev, dag: revenue }
    context: { params: { rows: 2000000, dryRun: false } }
    outcome: approval
`;

describe('policy explain and policy test, in plain words', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    world = await cliWorld({ ...DAGS, 'dags/revenue.cedar-test.yaml': TESTS });
  });
  afterAll(() => world?.close());

  it('says a trigger needs approval, how many votes from which group, and which forbid forced it', async () => {
    const res = await world.cli(['policy', 'explain', '--dag', 'revenue', '--param', 'rows=2000000'], {
      as: 'eng@example.com',
    });
    expect([res.code, res.stderr]).toEqual([0, '']);
    expect(res.stdout).toMatch(
      /^needs 2 approvals from data-leads \(never the requester\), because over a million rows needs approval \(\S+\)\n$/,
    );
    expect(res.stdout).not.toContain('would allow');
    const json = JSON.parse(
      (
        await world.cli(['policy', 'explain', '--dag', 'revenue', '--param', 'rows=2000000', '--json'], {
          as: 'eng@example.com',
        })
      ).stdout,
    );
    expect(json).toMatchObject({
      effect: 'deny',
      outcome: 'approval',
      quorum: 2,
      approvers: [{ kind: 'group', id: 'data-leads' }],
    });
  });

  it('says a small trigger starts now because of the permit', async () => {
    const res = await world.cli(['policy', 'explain', '--dag', 'revenue', '--param', 'rows=5'], {
      as: 'eng@example.com',
    });
    expect(res.stdout).toMatch(/^allowed: starts now, because engineers run DAGs \(\S+\)\n$/);
  });

  it('explains for someone else only to a caller who may read the audit trail', async () => {
    const res = await world.cli(
      ['policy', 'explain', '--dag', 'revenue', '--for', 'guest@example.com', '--group', 'visitors'],
      { as: 'eng@example.com' },
    );
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^error\[POLICY_DENIED\]: /);
  });

  it('names the forbid that forced approval in the WHY column of policy test', async () => {
    const res = await world.cli(['policy', 'test']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(
      /^pass +a big run needs approval +approval +approval +over a million rows needs approval$/m,
    );
  });
});
