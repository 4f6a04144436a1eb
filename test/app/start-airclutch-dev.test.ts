import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type AirclutchApp, startAirclutch } from '../../src/app/start-airclutch.ts';
import { queryAudit } from '../../src/audit/query-audit.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import type { DagRegistryChange } from '../../src/dag/dag-registry.ts';

let app: AirclutchApp | undefined;
let dir: string | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const nightly = (value: number) => `
import { dag } from 'airclutch';
const d = dag({ id: 'nightly' });
d.task('a', () => ${value});
export default d;
`;

function save(name: string, text: string): void {
  const target = join(dir!, name);
  mkdirSync(dirname(target), { recursive: true });
  const temp = join(dirname(target), `sed${Math.random().toString(36).slice(2, 8)}`);
  writeFileSync(temp, text);
  renameSync(temp, target);
}

function nextChange(a: AirclutchApp, what: string, timeoutMs = 30_000): Promise<DagRegistryChange> {
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => {
      a.registry.off('change', on);
      fail(new Error(`no reload within ${timeoutMs} ms after ${what}`));
    }, timeoutMs);
    const on = (c: DagRegistryChange) => {
      clearTimeout(timer);
      ok(c);
    };
    a.registry.once('change', on);
  });
}

describe('airclutch dev (startAirclutch with dev: true)', () => {
  it('reloads a DAG file after each of several `sed -i` style saves and records each version', async () => {
    dir = mkdtempSync(join(tmpdir(), 'airclutch-dev-'));
    save('dags/nightly.ts', nightly(0));
    save('policies/none.cedar', '// no policies\n');
    writeFileSync(
      join(dir, 'airclutch.config.yaml'),
      'environments:\n  dev:\n    dags: [dags]\n    policies: [policies]\n',
    );
    const config = await loadConfig({ cwd: dir, env: {} });
    app = await startAirclutch(config, { dev: true, log: pino({ level: 'silent' }) });
    const started = app;
    for (let edit = 1; edit <= 3; edit++) {
      const changed = nextChange(started, `save ${edit}`);
      save('dags/nightly.ts', nightly(edit));
      expect((await changed).changed).toEqual(['dev/nightly']);
      expect(await started.registry.get('dev', 'nightly').dag.tasks.get('a')!.fn!({} as never)).toBe(edit);
    }
    const version = started.registry.get('dev', 'nightly').version;
    // The audit record of the last reload follows the change event: poll the store, not the clock.
    let versions: unknown[] = [];
    const giveUp = Date.now() + 30_000;
    while (Date.now() < giveUp) {
      const { records } = await queryAudit(started.db, { action: 'dag.load', limit: 100 });
      versions = records.map((r) => r.resource?.dagVersion);
      if (versions.at(-1) === version) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(versions).toHaveLength(4);
    expect(new Set(versions).size).toBe(4);
    expect(versions.at(-1)).toBe(version);
  });

  it('says at start how many DAGs and policies it loaded, apart from the policy generation', async () => {
    dir = mkdtempSync(join(tmpdir(), 'airclutch-dev-'));
    save('dags/nightly.ts', nightly(0));
    save(
      'policies/roles.cedar',
      'permit (principal in Group::"eng", action == Action::"trigger", resource);\n' +
        'forbid (principal, action == Action::"trigger", resource) when { context.source == "schedule" };\n',
    );
    writeFileSync(
      join(dir, 'airclutch.config.yaml'),
      'environments:\n  dev:\n    dags: [dags]\n    policies: [policies]\n',
    );
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    app = await startAirclutch(await loadConfig({ cwd: dir, env: {} }), { dev: true, log });
    const started = lines.find((l) => l.msg === 'Airclutch started');
    expect(started).toMatchObject({ dags: 1, policies: 2, policyGeneration: 1 });
  });
});
