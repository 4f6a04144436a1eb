import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.ts';
import { AirclutchError } from '../../src/lib/errors.ts';
import { configDirs } from '../helpers/config-dir.ts';

const configDir = configDirs();
async function refusal(yaml: string, env: NodeJS.ProcessEnv = {}): Promise<AirclutchError> {
  const e = await loadConfig({ cwd: configDir(yaml), env }).then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(AirclutchError);
  expect((e as AirclutchError).code).toBe('CONFIG_INVALID');
  return e as AirclutchError;
}

describe('loading the config', () => {
  it('refuses a key no setting has, at any depth, naming the setting it is probably a typo of', async () => {
    const e = await refusal(
      [
        'engine:',
        '  concurency: 4',
        'identity:',
        '  devIdp:',
        '    prot: 4456',
        'audit:',
        '  sinks:',
        '    - type: stdout',
        '      nme: console',
        'environments:',
        '  prod:',
        '    dags: [dags]',
        '    polices: [policies]',
      ].join('\n'),
    );
    expect(e.message.split('\n').slice(1).sort()).toEqual([
      '- audit.sinks.0.nme: not a setting; did you mean name?',
      '- engine.concurency: not a setting; did you mean concurrency?',
      '- environments.prod.polices: not a setting; did you mean policies?',
      '- identity.devIdp.prot: not a setting; did you mean port?',
    ]);
  });

  it('lists what a level takes when an unknown key is near none of them', async () => {
    const e = await refusal('flavour: vanilla\n');
    expect(e.message).toContain(
      '- flavour: not a setting; the config takes dataDir, databaseUrl, defaultEnv, environments, engine, identity, audit, server',
    );
  });

  it('refuses a defaultEnv that names no environment, from the file or AIRCLUTCH_DEFAULT_ENV', async () => {
    const envs = 'environments:\n  dev:\n    dags: [dags]\n  prod:\n    dags: [dags]\n';
    const fromFile = await refusal(`defaultEnv: prd\n${envs}`);
    expect(fromFile.message).toContain(
      '- defaultEnv: "prd" is not one of the environments (dev, prod); did you mean prod?',
    );
    const fromEnv = await refusal(envs, { AIRCLUTCH_DEFAULT_ENV: 'qa' });
    expect(fromEnv.message).toContain('- defaultEnv: "qa" is not one of the environments (dev, prod)');
  });

  it('keeps the default environment when none is set, even if no environment has its name', async () => {
    const config = await loadConfig({
      cwd: configDir('environments:\n  prod:\n    dags: [dags]\n'),
      env: {},
    });
    expect(config.defaultEnv).toBe('dev');
    expect(Object.keys(config.environments)).toEqual(['prod']);
  });
});
