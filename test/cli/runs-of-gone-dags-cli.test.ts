import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAirclutch } from '../../src/app/create-airclutch.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { freePort } from '../helpers/free-port.ts';
import { DAGS, user } from '../helpers/gate-world.ts';
import { type CliServer, startCliServer } from './cli-server.ts';

const BIN = resolve(import.meta.dirname, '../../bin/airclutch.js');
let dir: string;
let server: CliServer;
let runId: string;

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const argv = [BIN, '-c', join(dir, 'airclutch.config.yaml'), ...args, '--as', 'eng@example.com'];
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

describe('airclutch runs, once the DAG is gone', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'airclutch-gone-cli-'));
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
        { dagId: 'revenue', params: { rows: 10 } },
      );
      runId = res.run.id;
    } finally {
      await ac.close();
    }
    rmSync(join(dir, 'dags/revenue.ts'));
    server = await startCliServer(join(dir, 'airclutch.config.yaml'));
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists the run, marked as no longer loaded', async () => {
    const table = await cli('runs', 'list');
    expect([table.code, table.stderr]).toEqual([0, '']);
    const row = table.stdout.split('\n').find((l) => l.startsWith(runId));
    expect(row).toContain(' revenue (no longer loaded) ');
    const json = await cli('runs', 'list', '--json');
    expect(
      JSON.parse(json.stdout).map((r: { id: string; dag_id: string; dag_loaded: boolean }) => [
        r.id,
        r.dag_id,
        r.dag_loaded,
      ]),
    ).toEqual([[runId, 'revenue', false]]);
  });

  it('shows the run and says its DAG is no longer loaded', async () => {
    const shown = await cli('runs', 'show', runId);
    expect([shown.code, shown.stderr]).toEqual([0, '']);
    expect(shown.stdout.split('\n').slice(0, 2)).toEqual([
      `run ${runId}  dev/revenue  queued`,
      '  DAG no longer loaded: its file was removed, renamed or fails to load (see `airclutch dags list`)',
    ]);
  });
});
