/** What a shell task may declare about its environment: valid names, string values, no Airclutch variables passed from the server. @module */
import type { ShellTaskOptions } from './types.ts';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Throws a `TypeError` (a mistake in the DAG file, shown as its import error) for an `env` or
 * `passEnv` a shell task may not have. `AIRCLUTCH_*` server variables hold Airclutch's own
 * configuration and credentials (the CLI token, the database URL, the Slack secret), so they are
 * never passed through; a task sets its own values for such names in `env` if it must.
 *
 * @example
 * checkShellEnv('load', { command: 'psql', env: { PGAPPNAME: 'load' }, passEnv: ['PGHOST'] });
 */
export function checkShellEnv(
  taskId: string,
  options: Pick<ShellTaskOptions<unknown>, 'env' | 'passEnv'>,
): void {
  const where = `shell task ${taskId}`;
  if (options.env !== undefined) {
    if (typeof options.env !== 'object' || options.env === null || Array.isArray(options.env))
      throw new TypeError(`${where}: env must be an object of NAME: 'value'`);
    for (const [name, value] of Object.entries(options.env)) {
      if (!ENV_NAME.test(name))
        throw new TypeError(
          `${where}: env name ${JSON.stringify(name)} is invalid; use letters, digits and _`,
        );
      if (typeof value !== 'string')
        throw new TypeError(`${where}: env.${name} must be a string, not ${typeof value}`);
    }
  }
  if (options.passEnv !== undefined) {
    if (!Array.isArray(options.passEnv))
      throw new TypeError(`${where}: passEnv must be an array of server variable names`);
    for (const name of options.passEnv) {
      if (typeof name !== 'string' || !ENV_NAME.test(name))
        throw new TypeError(
          `${where}: passEnv name ${JSON.stringify(name)} is invalid; use letters, digits and _`,
        );
      if (name.startsWith('AIRCLUTCH_'))
        throw new TypeError(
          `${where}: passEnv may not pass ${name}: AIRCLUTCH_* variables are Airclutch's own configuration and secrets`,
        );
    }
  }
}
