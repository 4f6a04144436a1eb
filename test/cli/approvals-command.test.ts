import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAirclutch } from '../../src/app/create-airclutch.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { DAGS, user } from '../helpers/gate-world.ts';

const BIN = resolve(import.meta.dirname, '../../bin/airclutch.js');
let dir: string;
let pendingId: string;

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function listAs(
  email: string,
): Promise<{ actionable: Array<{ id: string }>; mine: Array<{ id: string }> }> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [BIN, '-c', join(dir, 'airclutch.config.yaml'), 'approvals', 'list', '--as', email, '--json'],
    { cwd: dir },
  );
  return JSON.parse(stdout);
}

describe('airclutch approvals list', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'airclutch-approvals-cli-'));
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
      // The dev IdP's engineer asks for a run that needs two leads' approval.
      const res = await ac.gate.trigger(
        { principal: user('eng@example.com', ['data-eng']), source: 'cli', requestId: 'r1' },
        { dagId: 'revenue', params: { rows: 2_000_000 } },
      );
      if (res.outcome !== 'awaiting_approval') throw new Error(`expected approval, got ${res.outcome}`);
      pendingId = res.approval.id;
    } finally {
      await ac.close();
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('shows a lead the request Cedar lets them approve', async () => {
    const lists = await listAs('lead@example.com');
    expect(lists.actionable.map((a) => a.id)).toEqual([pendingId]);
    expect(lists.mine).toEqual([]);
  });

  it('shows the requester their own request, never as one they can approve', async () => {
    const lists = await listAs('eng@example.com');
    expect(lists.actionable).toEqual([]);
    expect(lists.mine.map((a) => a.id)).toEqual([pendingId]);
  });

  it('shows nothing to someone no policy lets approve', async () => {
    expect(await listAs('admin@example.com')).toEqual({ actionable: [], mine: [] });
  });
});
