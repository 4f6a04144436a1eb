import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlAuditLog } from '../../src/audit/sql-audit-log.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { openStore } from '../../src/store/open-store.ts';
import { type CliServer, startCliServer } from '../cli/cli-server.ts';
import { freePort } from '../helpers/free-port.ts';
import { triggerEvent } from './audit-fixtures.ts';

let dir: string;
let server: CliServer | undefined;
const READS = new Set(['query', 'export']);
// Asynchronous on purpose: a synchronous child blocks the test worker, which then misses
// the test runner's heartbeats on a loaded machine.
const cli = (...args: string[]) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(
      process.execPath,
      [
        'bin/airclutch.js',
        '-c',
        join(dir, 'airclutch.config.yaml'),
        'audit',
        ...args,
        // Reading the trail needs a verified caller whom Cedar allows readAudit.
        ...(READS.has(args[0]!) ? ['--as', 'admin@example.com'] : []),
      ],
      { env: { ...process.env, AIRCLUTCH_URL: server?.url ?? '', AIRCLUTCH_TOKEN: '' } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b;
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });

describe('airclutch audit', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'airclutch-audit-cli-'));
    mkdirSync(join(dir, 'dags'));
    mkdirSync(join(dir, 'policies'));
    writeFileSync(
      join(dir, 'policies/audit.cedar'),
      'permit (principal in Group::"admins", action == Action::"readAudit", resource);\n',
    );
    writeFileSync(
      join(dir, 'airclutch.config.yaml'),
      `dataDir: data\ndefaultEnv: prod\nidentity:\n  devIdp:\n    port: ${await freePort()}\nenvironments:\n  prod:\n    dags: [dags]\n    policies: [policies]\naudit:\n  hmacKey: a-test-hmac-key-of-enough-length\n  checkpointKeyFile: cp.pem\n`,
    );
    expect(
      (await cli('keygen', '--private', join(dir, 'cp.pem'), '--public', join(dir, 'cp.pub.pem'))).code,
    ).toBe(0);
    const config = await loadConfig({ path: join(dir, 'airclutch.config.yaml') });
    const db = await openStore(config);
    const audit = new SqlAuditLog(db, { hmacKey: Buffer.from('a-test-hmac-key-of-enough-length') });
    await audit.append(Array.from({ length: 12 }, (_, i) => triggerEvent(i + 1)));
    await audit.append([
      {
        action: 'trigger',
        params: { token: 'tok-1' },
        paramsSchema: { properties: { token: { sensitive: true } } },
      },
    ]);
    await audit.close();
    await db.close();
    server = await startCliServer(join(dir, 'airclutch.config.yaml'));
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('verifies the store, signs a checkpoint and verifies a signed export offline', async () => {
    expect((await cli('verify')).stdout).toMatch(
      /^audit chain verified: 13 record\(s\) up to 13, 0 signed checkpoint/,
    );
    const cp = JSON.parse((await cli('checkpoint')).stdout) as { type: string; seq: number };
    expect(cp).toMatchObject({ type: 'checkpoint', seq: 13 });
    expect((await cli('verify', '--json')).stdout).toContain('"checkpointsVerified": 1');
    const file = join(dir, 'export.jsonl');
    expect((await cli('export', '--format', 'jsonl', '-o', file)).code).toBe(0);
    const ok = await cli('verify', '--file', file, '--public-key', join(dir, 'cp.pub.pem'));
    expect(ok).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('13 record(s) up to 13, 1 signed checkpoint(s)'),
    });
    writeFileSync(file, readFileSync(file, 'utf8').replace('"run-5"', '"run-6"'));
    const bad = await cli('verify', '--file', file, '--public-key', join(dir, 'cp.pub.pem'));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(
      `error[AUDIT_CHAIN_BROKEN]: ${file} fails at record 5: record 5 does not match its hash (edited)\n`,
    );
  });

  it('queries with filters, finds a sensitive value by its HMAC, and exports CSV', async () => {
    const page = JSON.parse((await cli('query', '--run', 'run-3', '--json')).stdout) as {
      records: { seq: number }[];
    };
    expect(page.records.map((r) => r.seq)).toEqual([3]);
    const secret = JSON.parse((await cli('query', '--param', 'token=tok-1', '--json')).stdout) as {
      records: { seq: number }[];
    };
    expect(secret.records.map((r) => r.seq)).toEqual([13]);
    expect((await cli('query', '--param', 'nonsense')).stderr).toBe(
      'error[REQUEST_INVALID]: --param takes name=value, not "nonsense"\n',
    );
    const csv = (await cli('export', '--format', 'csv')).stdout.trim().split('\n');
    expect(csv).toHaveLength(14);
    expect(csv[0]).toMatch(/^seq,ts,time,action,/);
  });
});
