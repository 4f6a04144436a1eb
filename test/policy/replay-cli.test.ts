import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAirclutch } from '../../src/app/create-airclutch.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { DAGS, eng } from '../helpers/gate-world.ts';

let dir: string;
const write = (files: Record<string, string>) => {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
};
const cli = (...args: string[]) => {
  const r = spawnSync(
    process.execPath,
    ['bin/airclutch.js', '-c', join(dir, 'airclutch.config.yaml'), 'policy', 'replay', ...args],
    { encoding: 'utf8' },
  );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe('airclutch policy replay', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'airclutch-replay-cli-'));
    write({
      ...DAGS,
      'airclutch.config.yaml':
        'dataDir: data\nenvironments:\n  dev:\n    dags: [dags]\n    policies: [policies]\n',
    });
    const ac = await createAirclutch(await loadConfig({ path: join(dir, 'airclutch.config.yaml') }));
    try {
      const res = await ac.gate.trigger(
        { principal: eng, source: 'cli', requestId: 'r1' },
        {
          dagId: 'revenue',
          params: { rows: 10 },
        },
      );
      expect(res.outcome).toBe('started');
    } finally {
      await ac.scheduler.stop();
      await ac.engine.stop(1_000);
      await ac.close();
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 0 when no audited decision would change', () => {
    const r = cli('--since', '1h');
    expect(r.stderr).toBe('');
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout).toMatch(/^1 decisions replayed: 1 unchanged, 0 would change, 0 not replayable/);
  });

  it('lists a decision the working tree would change and exits 1, so CI can gate on it', () => {
    write({
      'dags/revenue.cedar': `${DAGS['dags/revenue.cedar']}
@reason("more than 5 rows needs approval now")
forbid (principal, action == Action::"trigger", resource) when { context.params.rows > 5 };
`,
    });
    const r = cli('--since', '1h');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/1 would change/);
    expect(r.stdout).toMatch(/trigger\s+dev\/revenue run \S+\s+allow -> approval/);
    expect(r.stderr).toContain('POLICY_DENIED');
    expect(r.stderr).toContain('1 of 1 audited decisions would change under these policies');
    const json = JSON.parse(cli('--since', '1h', '--json').stdout);
    expect(json.changed).toEqual([
      expect.objectContaining({
        action: 'trigger',
        actor: 'User::"eng@example.com"',
        recorded: 'allow',
        replayed: 'approval',
      }),
    ]);
    expect(cli('--since', '1h', '--until', '2000-01-01T00:00Z').stdout).toMatch(/^0 decisions replayed/);
  });

  it('refuses a window bound that is not a time, saying what to give', () => {
    const r = cli('--since', 'last tuesday');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('REQUEST_INVALID');
    expect(r.stderr).toContain('"last tuesday" is not a time; give an age (7d, 24h, 30m, 2w)');
  });
});
