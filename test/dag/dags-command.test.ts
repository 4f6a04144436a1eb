import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { dagSource, type FixtureDir, fixtureDir } from './dag-fixtures.ts';

const BIN = resolve(import.meta.dirname, '../../bin/airclutch.js');
let fx: FixtureDir;
afterEach(() => fx?.remove());

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)('node', [BIN, ...args], { cwd: fx.dir });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const CONFIG = 'environments:\n  dev:\n    dags: [dags]\n  prod:\n    dags: [prod]\n';
const SCHEDULED = [
  "import { dag } from 'airclutch';",
  "import { z } from 'zod';",
  "const d = dag({ id: 'sched', owner: 'ops', tags: ['t1'], schedule: '30 6 * * *', timezone: 'America/New_York',",
  '  params: z.object({ n: z.number().int().default(3) }) });',
  "const a = d.task('a', { retries: 2, timeoutMs: 500 }, () => 1);",
  "d.shell('b', { after: [a], triggerRule: 'all_done', command: 'true' });",
  'export default d;',
].join('\n');

describe('airclutch dags', () => {
  it('lists DAGs as JSON with the import errors beside them, and exits 0', async () => {
    fx = fixtureDir({
      'airclutch.config.yaml': CONFIG,
      'dags/sched.ts': SCHEDULED,
      'dags/broken.ts': "import { dag } from 'airclutch';\nthrow new Error('nope');\n",
      'prod/p.ts': dagSource('prod_only'),
    });
    const { code, stdout } = await cli('dags', 'list', '--json');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      dags: [
        {
          id: 'sched',
          env: 'dev',
          schedule: '30 6 * * *',
          tasks: 2,
          owner: 'ops',
          tags: ['t1'],
          file: 'dags/sched.ts',
        },
        { id: 'prod_only', env: 'prod', schedule: null, tasks: 1, owner: null, tags: [], file: 'prod/p.ts' },
      ],
      importErrors: [
        { env: 'dev', file: 'dags/broken.ts', line: 2, column: 7, message: 'import failed: nope' },
      ],
    });
    const text = await cli('dags', 'list', '--env', 'dev');
    expect(text.stdout).toContain('sched  dev  30 6 * * *');
    expect(text.stdout).toContain('[dev] dags/broken.ts:2:7 import failed: nope');
    expect(text.stdout).not.toContain('prod_only');
  });

  it('shows tasks, params schema and the next fire times in the DAG time zone', async () => {
    fx = fixtureDir({ 'airclutch.config.yaml': CONFIG, 'dags/sched.ts': SCHEDULED });
    const { code, stdout } = await cli('dags', 'show', 'sched', '--json');
    expect(code).toBe(0);
    const d = JSON.parse(stdout);
    expect(
      d.taskDetails.map((t: any) => [t.id, t.kind, t.after, t.triggerRule, t.retries, t.timeoutMs]),
    ).toEqual([
      ['a', 'function', [], 'all_success', 2, 500],
      ['b', 'shell', ['a'], 'all_done', 0, null],
    ]);
    expect(d.params.properties.n).toMatchObject({ type: 'integer', default: 3 });
    expect(d.nextRuns).toHaveLength(3);
    for (const t of d.nextRuns) {
      const local = new Date(t).toLocaleTimeString('en-GB', { timeZone: 'America/New_York' });
      expect(local).toBe('06:30:00');
    }
  });

  it('refuses an unknown DAG naming the near match', async () => {
    fx = fixtureDir({ 'airclutch.config.yaml': CONFIG, 'dags/sched.ts': SCHEDULED });
    const { code, stderr } = await cli('dags', 'show', 'shced');
    expect(code).toBe(1);
    expect(stderr).toBe(
      'error[DAG_NOT_FOUND]: DAG shced not found in environment dev; did you mean sched?\n',
    );
  });

  it('validate exits 1 and lists every import error', async () => {
    fx = fixtureDir({
      'airclutch.config.yaml': CONFIG,
      'dags/sched.ts': SCHEDULED,
      'dags/a.ts': 'export const x = ;\n',
      'prod/b.ts': dagSource('b', 1, "import './missing.ts';"),
    });
    const { code, stdout } = await cli('dags', 'validate');
    expect(code).toBe(1);
    expect(stdout).toContain('[dev] dags/a.ts:1:18 Unexpected ";"');
    expect(stdout).toContain('[prod] prod/b.ts:2:8 Could not resolve "./missing.ts"');
    expect(stdout).toContain('1 DAG loaded, 2 import errors');
    fx.write({ 'dags/a.ts': dagSource('a'), 'prod/b.ts': dagSource('b') });
    expect(await cli('dags', 'validate')).toMatchObject({
      code: 0,
      stdout: '3 DAGs loaded, 0 import errors\n',
    });
  });
});
