import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAirclutch } from '../../src/app/create-airclutch.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import type { ApprovalView } from '../../src/gate/gate-types.ts';
import { type CliServer, startCliServer } from '../cli/cli-server.ts';
import { freePort } from '../helpers/free-port.ts';
import { DAGS, user } from '../helpers/gate-world.ts';

const BIN = resolve(import.meta.dirname, '../../bin/airclutch.js');
let dir: string;
let server: CliServer;
let approval: ApprovalView;

async function cli(as: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const argv = [BIN, '-c', join(dir, 'airclutch.config.yaml'), ...args, '--as', as];
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, argv, {
      cwd: dir,
      env: { ...process.env, AIRCLUTCH_URL: server.url, AIRCLUTCH_TOKEN: '' },
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

async function auditOfVotes() {
  const ac = await createAirclutch(await loadConfig({ path: join(dir, 'airclutch.config.yaml') }));
  try {
    return await ac.db.kysely
      .selectFrom('audit_records')
      .selectAll()
      .where('approval_id', '=', approval.id)
      .where('action', '=', 'approve')
      .orderBy('seq')
      .execute();
  } finally {
    await ac.close();
  }
}

describe('the CLI for voters, and for callers who may not view a DAG', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'airclutch-vote-cli-'));
    const files: Record<string, string> = {
      ...DAGS,
      'airclutch.config.yaml': `dataDir: data\nidentity:\n  devIdp:\n    port: ${await freePort()}\nenvironments:\n  dev:\n    dags: [dags]\n    policies: [policies]\n`,
    };
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    const ac = await createAirclutch(await loadConfig({ path: join(dir, 'airclutch.config.yaml') }));
    try {
      const res = await ac.gate.trigger(
        { principal: user('eng@example.com', ['data-eng']), source: 'cli', requestId: 'r1' },
        { dagId: 'revenue', params: { rows: 2_000_000, apiKey: 'sk-cli-secret' } },
      );
      if (res.outcome !== 'awaiting_approval') throw new Error(`expected approval, got ${res.outcome}`);
      approval = res.approval;
    } finally {
      await ac.close();
    }
    server = await startCliServer(join(dir, 'airclutch.config.yaml'));
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses with APPROVAL_STALE a vote on a params hash the request does not hold, after showing what it holds', async () => {
    const other = '0'.repeat(64);
    const res = await cli('lead@example.com', 'approvals', 'approve', approval.id, '--params-hash', other);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      `error[APPROVAL_STALE]: you were shown params hash ${other} (the request's is ${approval.params_hash}) of approval request ${approval.id}: what you saw is not what would run. Look at the request again and vote on what it holds\n`,
    );
    expect(res.stdout).toContain(`Params hash:  ${approval.params_hash}\n`);
    const [refusal] = await auditOfVotes();
    expect(refusal).toMatchObject({ actor_id: 'lead@example.com', source: 'cli', outcome: 'refused' });
    expect(JSON.parse(refusal!.details!)).toMatchObject({
      code: 'APPROVAL_STALE',
      shown: { paramsHash: other },
    });
  });

  it('prints the DAG, environment, masked params, hash and DAG version, then votes bound to them', async () => {
    const res = await cli('lead@example.com', 'approvals', 'approve', approval.id, '-m', 'ok');
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toBe(
      [
        `Request:      ${approval.id} (approval, pending)`,
        'DAG:          revenue',
        'Environment:  dev',
        'Requested by: eng@example.com',
        'Params:       {"rows":2000000,"dryRun":false,"apiKey":"••••••"}',
        `Params hash:  ${approval.params_hash}`,
        `DAG version:  ${approval.dag_version}`,
        `Open:         ${server.url}/approvals/${approval.id}`,
        `approve recorded: 1/2 approvals; request pending; run ${approval.run_id} awaiting_approval`,
        '',
      ].join('\n'),
    );
    expect(res.stdout).not.toContain('sk-cli-secret');
    expect((await auditOfVotes()).map((r) => r.outcome)).toEqual(['refused', 'recorded']);
  });

  it('answers a trigger of a DAG the caller may not view as for one that does not exist', async () => {
    // The dev IdP's admin is in no group these policies name.
    const [hidden, missing] = await Promise.all([
      cli('admin@example.com', 'trigger', 'revenue', '-p', 'rows=lots'),
      cli('admin@example.com', 'trigger', 'no_such_dag', '-p', 'rows=lots'),
    ]);
    expect(hidden.code).toBe(1);
    expect(hidden.stderr).toBe(
      'error[DAG_NOT_FOUND]: DAG revenue not found in environment dev; you may view no DAG in this environment\n',
    );
    expect(missing.stderr.replace('no_such_dag', 'revenue')).toBe(hidden.stderr);
    expect(missing.stdout).toBe(hidden.stdout);
  });
});
