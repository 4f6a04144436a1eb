import { afterEach, describe, expect, it } from 'vitest';
import { dag } from '../../src/dag/dag.ts';
import { readLogs } from '../../src/engine/sql/read-runs.ts';
import { createWorld, eng, type World } from '../helpers/gate-world.ts';

// What an operator's server typically holds in its environment.
const SERVER_SECRETS = {
  AIRCLUTCH_TOKEN: 'eyJhbGciOiJSUzI1NiJ9.server-token.sig',
  AIRCLUTCH_DATABASE_URL: 'postgres://airclutch:hunter2@db.internal:5432/airclutch',
  AIRCLUTCH_SLACK_SIGNING_SECRET: 'slack-signing-secret-value',
  AIRCLUTCH_OIDC_CLIENT_SECRET: 'oidc-client-secret-value',
  AWS_SECRET_ACCESS_KEY: 'aws-secret-value',
  PGPASSWORD: 'pg-password-value',
  WAREHOUSE_HOST: 'warehouse.internal',
};

const ENV_DAG = `
import { dag } from 'airclutch';
const d = dag({ id: 'show_env', owner: 'data-eng' });
d.shell('print', {
  command: 'env',
  env: { REPORT_FORMAT: 'csv' },
  passEnv: ['WAREHOUSE_HOST', 'NOT_SET_ON_SERVER'],
});
export default d;
`;

let w: World | undefined;
let saved: NodeJS.ProcessEnv | undefined;
afterEach(async () => {
  if (saved) process.env = saved;
  saved = undefined;
  await w?.dispose();
  w = undefined;
});

describe('the environment of a shell task', { timeout: 60_000 }, () => {
  it('holds none of the server’s secrets, only the allowlist, the run’s facts and what the task declares', async () => {
    saved = process.env;
    process.env = { ...saved, ...SERVER_SECRETS, LANG: 'C.UTF-8', TZ: 'Europe/Paris', LC_ALL: 'C.UTF-8' };
    w = await createWorld('sqlite', { files: { 'dags/show-env.ts': ENV_DAG } });
    await w.engine.start();
    const { run } = await w.gate.trigger(w.ctx(eng), { dagId: 'show_env' });
    expect(await w.engine.waitForRun(run.id)).toBe('success');

    const lines = (await readLogs(w.db.kysely, run.id, { taskId: 'print' })).map((l) => l.line);
    const env = Object.fromEntries(
      lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    const text = lines.join('\n');
    for (const [name, value] of Object.entries(SERVER_SECRETS)) {
      if (name === 'WAREHOUSE_HOST') continue;
      expect(env[name], name).toBeUndefined();
      expect(text).not.toContain(value);
    }
    // `sh` adds PWD (and may add SHLVL, _) itself; everything else came from Airclutch.
    const fromShell = new Set(['PWD', 'OLDPWD', 'SHLVL', '_']);
    expect(
      Object.keys(env)
        .filter((k) => !fromShell.has(k))
        .sort(),
    ).toEqual(
      [
        'AIRCLUTCH_DAG_ID',
        'AIRCLUTCH_ENV',
        'AIRCLUTCH_RUN_ID',
        'AIRCLUTCH_TASK_ID',
        'AIRCLUTCH_TRY_NUMBER',
        ...(saved.HOME ? ['HOME'] : []),
        'LANG',
        'LC_ALL',
        'PATH',
        'REPORT_FORMAT',
        'TZ',
        'WAREHOUSE_HOST',
      ].sort(),
    );
    expect(env).toMatchObject({
      AIRCLUTCH_ENV: 'dev',
      AIRCLUTCH_DAG_ID: 'show_env',
      AIRCLUTCH_RUN_ID: run.id,
      AIRCLUTCH_TASK_ID: 'print',
      AIRCLUTCH_TRY_NUMBER: '1',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      TZ: 'Europe/Paris',
      PATH: saved.PATH,
      REPORT_FORMAT: 'csv',
      WAREHOUSE_HOST: 'warehouse.internal',
    });
  });

  it('refuses a task that would pass one of Airclutch’s own variables through, naming it', () => {
    const d = dag({ id: 'leaky' });
    expect(() => d.shell('leak', { command: 'env', passEnv: ['AIRCLUTCH_TOKEN'] })).toThrow(
      new TypeError(
        "shell task leak: passEnv may not pass AIRCLUTCH_TOKEN: AIRCLUTCH_* variables are Airclutch's own configuration and secrets",
      ),
    );
    expect(() => d.shell('bad_name', { command: 'env', env: { 'NOT-A-NAME': 'x' } })).toThrow(
      new TypeError('shell task bad_name: env name "NOT-A-NAME" is invalid; use letters, digits and _'),
    );
  });
});
