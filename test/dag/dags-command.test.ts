import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { type CliServer, startCliServer } from '../cli/cli-server.ts';
import { freePort } from '../helpers/free-port.ts';
import { dagSource, type FixtureDir, fixtureDir } from './dag-fixtures.ts';

const BIN = resolve(import.meta.dirname, '../../bin/airclutch.js');
let fx: FixtureDir;
let server: CliServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  fx?.remove();
});

/** `list` and `show` ask the project's server, as eng@example.com (the policy lets everyone view). */
async function withServer(files: Record<string, string>): Promise<void> {
  const port = await freePort();
  fx = fixtureDir({
    ...files,
    'airclutch.config.yaml': `identity:\n  devIdp:\n    port: ${port}\n${SERVED}`,
    'policies/view.cedar': 'permit (principal, action == Action::"view", resource);\n',
  });
  server = await startCliServer(`${fx.dir}/airclutch.config.yaml`);
}

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = server
    ? { ...process.env, AIRCLUTCH_URL: server.url, AIRCLUTCH_TOKEN: '', XDG_CONFIG_HOME: `${fx.dir}/xdg` }
    : process.env;
  const as = server ? ['--as', 'eng@example.com'] : [];
  try {
    const { stdout, stderr } = await promisify(execFile)('node', [BIN, ...args, ...as], { cwd: fx.dir, env });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const CONFIG = 'environments:\n  dev:\n    dags: [dags]\n  prod:\n    dags: [prod]\n';
const SERVED =
  'environments:\n  dev:\n    dags: [dags]\n    policies: [policies]\n  prod:\n    dags: [prod]\n    policies: [policies]\n';
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
  it('lists the DAGs the server loaded as the API views, and points at validate for files that fail', async () => {
    await withServer({
      'dags/sched.ts': SCHEDULED,
      'dags/broken.ts': "import { dag } from 'airclutch';\nthrow new Error('nope');\n",
      'prod/p.ts': dagSource('prod_only'),
    });
    const { code, stdout, stderr } = await cli('dags', 'list', '--json');
    expect([code, stderr]).toEqual([0, '']);
    const dags = JSON.parse(stdout);
    expect(dags.map((d: any) => [d.env, d.dagId, d.schedule, d.owner, d.tags, d.tasks.length])).toEqual([
      ['dev', 'sched', '30 6 * * *', 'ops', ['t1'], 2],
      ['prod', 'prod_only', null, null, [], 1],
    ]);
    const text = await cli('dags', 'list', '--env', 'dev');
    expect(text.stdout).toMatch(/^sched +dev +30 6 \* \* \* +2 +ops +t1 +deny$/m);
    expect(text.stdout).toContain('`airclutch dags validate`');
    expect(text.stdout).not.toContain('prod_only');
  });

  it('shows tasks, params schema and the next fire times in the DAG time zone', async () => {
    await withServer({ 'dags/sched.ts': SCHEDULED });
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
    const text = await cli('dags', 'show', 'sched');
    expect(text.stdout).toContain(`\nopen:          ${server!.url}/dags/dev/sched\n`);
    expect(d.nextRuns).toHaveLength(3);
    for (const t of d.nextRuns) {
      const local = new Date(t).toLocaleTimeString('en-GB', { timeZone: 'America/New_York' });
      expect(local).toBe('06:30:00');
    }
  });

  it('refuses an unknown DAG naming the near match', async () => {
    await withServer({ 'dags/sched.ts': SCHEDULED });
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
