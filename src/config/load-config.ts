/** Finds, loads and validates the Airclutch config, then applies environment-variable overrides. @module */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { applyServerEnv } from '../http/server-config.ts';
import { applyIdentityEnv } from '../identity/identity-config.ts';
import { AirclutchError } from '../lib/errors.ts';
import { formatIssues, type SchemaIssue } from '../lib/format-issues.ts';
import { didYouMean, nearMatches } from '../lib/near-matches.ts';
import { describeConfigIssues } from './config-issues.ts';
import { type AirclutchConfig, type AirclutchConfigInput, configSchema } from './config-schema.ts';
import { importConfigModule } from './import-config-module.ts';

const CANDIDATES = ['airclutch.config.ts', 'airclutch.config.yaml', 'airclutch.config.yml'];

/**
 * Loads the config file (from `AIRCLUTCH_CONFIG`, the given path, or the first of
 * `airclutch.config.{ts,yaml,yml}` in `cwd`), validates it, and applies overrides:
 * `AIRCLUTCH_DATABASE_URL`, `AIRCLUTCH_DATA_DIR`, `AIRCLUTCH_DEFAULT_ENV`.
 *
 * @example
 * const config = await loadConfig({ cwd: process.cwd() });
 */
export async function loadConfig(
  options: { cwd?: string; path?: string; env?: NodeJS.ProcessEnv; overrides?: AirclutchConfigInput } = {},
): Promise<AirclutchConfig> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const explicit = options.path ?? env.AIRCLUTCH_CONFIG;
  const file = explicit ? resolve(cwd, explicit) : CANDIDATES.map((c) => resolve(cwd, c)).find(existsSync);
  if (explicit && !existsSync(file!)) {
    throw new AirclutchError('CONFIG_INVALID', `config file ${file} does not exist`);
  }
  const raw = file ? await readConfigFile(file) : {};
  const merged = { ...raw, ...options.overrides };
  if (env.AIRCLUTCH_DATABASE_URL) merged.databaseUrl = env.AIRCLUTCH_DATABASE_URL;
  if (env.AIRCLUTCH_DATA_DIR) merged.dataDir = env.AIRCLUTCH_DATA_DIR;
  if (env.AIRCLUTCH_DEFAULT_ENV) merged.defaultEnv = env.AIRCLUTCH_DEFAULT_ENV;
  merged.identity = applyIdentityEnv(merged.identity, env) as AirclutchConfigInput['identity'];
  merged.server = applyServerEnv(merged.server, env) as AirclutchConfigInput['server'];
  const parsed = configSchema.safeParse(merged);
  const issues = parsed.success
    ? defaultEnvIssues(parsed.data, merged.defaultEnv !== undefined)
    : describeConfigIssues(parsed.error.issues);
  if (!parsed.success || issues.length) {
    throw new AirclutchError('CONFIG_INVALID', `${file ?? 'config'} is invalid:\n${formatIssues(issues)}`, {
      details: { issues },
    });
  }
  const rootDir = file ? dirname(file) : cwd;
  return {
    ...parsed.data,
    dataDir: resolve(rootDir, parsed.data.dataDir),
    rootDir,
    source: file ?? '(defaults)',
  };
}

async function readConfigFile(file: string): Promise<AirclutchConfigInput> {
  try {
    if (file.endsWith('.ts')) {
      const mod = (await importConfigModule(file)) as { default?: AirclutchConfigInput };
      return mod.default ?? {};
    }
    return (parseYaml(readFileSync(file, 'utf8')) as AirclutchConfigInput | null) ?? {};
  } catch (e) {
    throw new AirclutchError('CONFIG_INVALID', `could not read ${file}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/** A `defaultEnv` that was set must name one of the environments (a typo would refuse every command). */
function defaultEnvIssues(
  config: { defaultEnv: string; environments: Record<string, unknown> },
  given: boolean,
) {
  const names = Object.keys(config.environments);
  if (!given || names.includes(config.defaultEnv)) return [];
  const issue: SchemaIssue = {
    path: ['defaultEnv'],
    message: `${JSON.stringify(config.defaultEnv)} is not one of the environments (${names.join(', ')})${didYouMean(nearMatches(config.defaultEnv, names, 3))}`,
  };
  return [issue];
}
