import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.ts';

const dir = mkdtempSync(join(tmpdir(), 'airclutch-dev-port-'));
let holder: Server | undefined;
afterAll(() => {
  holder?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('airclutch dev on a port another process holds', { timeout: 60_000 }, () => {
  it('says which port is taken and how to move it, then exits instead of running without its API', async () => {
    const taken = await freePort();
    holder = createServer();
    await new Promise<void>((r) => holder!.listen(taken, '127.0.0.1', r));
    mkdirSync(join(dir, 'dags'));
    mkdirSync(join(dir, 'policies'));
    writeFileSync(
      join(dir, 'airclutch.config.yaml'),
      `dataDir: data\nidentity:\n  devIdp:\n    port: ${await freePort()}\nenvironments:\n  dev:\n    dags: [dags]\n    policies: [policies]\n`,
    );
    const started = Date.now();
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        ['bin/airclutch.js', '-c', join(dir, 'airclutch.config.yaml'), 'dev'],
        {
          env: { ...process.env, AIRCLUTCH_PORT: String(taken), NO_COLOR: '1' },
        },
      );
      let err = '';
      child.stderr.on('data', (b: Buffer) => {
        err += b;
      });
      child.on('close', (c) => resolve({ code: c, stderr: err }));
    });
    expect(code).not.toBe(0);
    expect(stderr).toContain(
      `error[CONFIG_INVALID]: the HTTP API cannot listen on 127.0.0.1:${taken}: the port is taken: another process listens there, perhaps another Airclutch; stop it, or set server.port (AIRCLUTCH_PORT) to a free port`,
    );
    expect(stderr).not.toContain('    at ');
    // It stopped its engine, scheduler and dev IdP rather than lingering until killed.
    expect(Date.now() - started).toBeLessThan(45_000);
  });
});
