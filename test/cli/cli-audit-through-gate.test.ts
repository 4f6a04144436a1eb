import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAirclutch } from '../../src/app/create-airclutch.ts';
import { generateCheckpointKeys } from '../../src/audit/audit-keys.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { DAGS, user } from '../helpers/gate-world.ts';
import { type CliWorld, cliWorld } from './cli-world.ts';

let world: CliWorld;
let runId: string;

interface Record {
  action: string;
  actor: { id: string } | null;
  resource: { env?: string; runId?: string } | null;
  source: string | null;
  decision: { effect: string; reasons: string[] } | null;
  outcome: string | null;
}

async function query(as: string, ...args: string[]): Promise<Record[]> {
  const res = await world.cli(['audit', 'query', '--json', ...args], { as });
  expect(res.stderr).toBe('');
  return JSON.parse(res.stdout).records;
}

const DENIED_EXPORT =
  /^error\[POLICY_DENIED\]: User::"eng@example\.com" may not readAudit environment dev: no policy permits readAudit on this env \(deny by default\)\. what would allow it: policies\/audit\.cedar:1 would allow members of Group::"data-leads"\n$/;

describe('the CLI reads the audit trail through the gate', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    const { privateKeyPem, publicKeyPem } = generateCheckpointKeys();
    world = await cliWorld(
      {
        ...DAGS,
        'policies/audit.cedar': `@reason("leads read the audit trail")
permit (principal in Group::"data-leads", action == Action::"readAudit", resource);
`,
        'keys/checkpoint.pem': privateKeyPem,
        'keys/checkpoint.pub.pem': publicKeyPem,
      },
      {
        config:
          'audit:\n  checkpointKeyFile: keys/checkpoint.pem\nenvironments:\n  dev:\n    dags: [dags]\n    policies: [policies]\n',
      },
    );
    const ac = await createAirclutch(await loadConfig({ path: world.configPath }));
    try {
      const res = await ac.gate.trigger(
        { principal: user('eng@example.com', ['data-eng']), source: 'cli', requestId: 'r1' },
        { dagId: 'revenue', params: { rows: 5 } },
      );
      runId = res.run.id;
    } finally {
      await ac.close();
    }
  });
  afterAll(() => world?.close());

  it('refuses an export to a caller no readAudit policy allows, writes nothing, and records the refusal', async () => {
    const out = join(world.dir, 'eng-export.jsonl');
    const res = await world.cli(['audit', 'export', '-o', out], { as: 'eng@example.com' });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(DENIED_EXPORT);
    expect(existsSync(out)).toBe(false);

    const refusals = await query('lead@example.com', '--action', 'readAudit');
    expect(refusals).toMatchObject([
      {
        action: 'readAudit',
        actor: { id: 'eng@example.com' },
        resource: { env: 'dev' },
        source: 'cli',
        decision: { effect: 'deny' },
        outcome: 'denied',
      },
    ]);
  });

  it('refuses a query of one environment to a caller who may not read its trail', async () => {
    const res = await world.cli(['audit', 'query', '--env', 'dev'], { as: 'eng@example.com' });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(DENIED_EXPORT);
  });

  it('shows each caller only the records Cedar lets them read', async () => {
    expect(await query('eng@example.com')).toEqual([]);
    // Nothing at all may be shown to eng: the listing says so, and what would change it.
    const none = await world.cli(['audit', 'query'], { as: 'eng@example.com' });
    expect(none).toMatchObject({ code: 0, stdout: '(none)\n' });
    expect(none.stderr).toBe(
      'User::"eng@example.com" may not readAudit any environment or DAG: no policy permits readAudit on this env (deny by default). what would allow it: policies/audit.cedar:1 would allow members of Group::"data-leads"\n',
    );
    const triggers = await query('lead@example.com', '--action', 'trigger');
    expect(triggers).toMatchObject([
      { action: 'trigger', actor: { id: 'eng@example.com' }, resource: { runId }, outcome: 'started' },
    ]);
  });

  it('finds records again by the DAG and actor that its own listing prints', async () => {
    const listed = await world.cli(['audit', 'query', '--action', 'trigger'], { as: 'lead@example.com' });
    expect(listed.stderr).toBe('');
    const row = listed.stdout.split('\n').find((l) => l.includes(runId))!;
    const actor = row.match(/\buser:\S+/)![0];
    const dag = row.match(/\bdev\/\S+/)![0];
    expect([actor, dag]).toEqual(['user:eng@example.com', 'dev/revenue']);
    expect(
      await query('lead@example.com', '--action', 'trigger', '--actor', actor, '--dag', dag),
    ).toMatchObject([{ action: 'trigger', resource: { runId } }]);
    const conflict = await world.cli(['audit', 'query', '--env', 'prod', '--dag', dag], {
      as: 'lead@example.com',
    });
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toBe(
      'error[REQUEST_INVALID]: --dag dev/revenue names environment dev, but --env says prod: give one of them\n',
    );
  });

  it('takes an age for --since and --until, as policy replay does, and says what to give otherwise', async () => {
    const lead = 'lead@example.com';
    expect(await query(lead, '--action', 'trigger', '--since', '1h')).toMatchObject([
      { resource: { runId } },
    ]);
    expect(await query(lead, '--action', 'trigger', '--since', '10m', '--until', '0s')).toMatchObject([
      { resource: { runId } },
    ]);
    expect(await query(lead, '--action', 'trigger', '--until', '1h')).toEqual([]);
    const bad = await world.cli(['audit', 'query', '--since', 'last tuesday'], { as: lead });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(
      'error[REQUEST_INVALID]: "last tuesday" is not a time; give an age (7d, 24h, 30m, 2w), an ISO date (2026-11-28T09:00Z) or epoch ms\n',
    );
  });

  it('asks for an identity before reading the trail', async () => {
    const res = await world.cli(['audit', 'query']);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      'error[TOKEN_MISSING]: not signed in: run `airclutch login`, set AIRCLUTCH_TOKEN, or in dev mode pass --as eng@example.com\n',
    );
  });

  it('exports the whole trail to a lead, and the file verifies offline with only the public key', async () => {
    const out = join(world.dir, 'lead-export.jsonl');
    const res = await world.cli(['audit', 'export', '-o', out], { as: 'lead@example.com' });
    expect(res.stderr).toMatch(/^exported \d+ record\(s\) to /);
    expect(res.code).toBe(0);

    // No identity: the export and the public key are all it needs.
    const pub = join(world.dir, 'keys/checkpoint.pub.pem');
    const verified = await world.cli(['audit', 'verify', '--file', out, '--public-key', pub]);
    expect(verified.stderr).toBe('');
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(
      / verified: \d+ record\(s\) up to \d+, 1 signed checkpoint\(s\), head [0-9a-f]{64}\n$/,
    );
  });
});
