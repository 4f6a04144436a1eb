/**
 * Path parameters of a proxied call, checked before anything reaches Airflow. The upstream path is
 * rebuilt from Airflow's template with each checked parameter encoded (`upstreamPathOf`), so a
 * `dag_id` of `..`, `%2e%2e` or one holding `/` (`%2F`) can never name another route of Airflow's API.
 * @module
 */
import { AirclutchError } from '../lib/errors.ts';

/** Airflow's own rule for DAG and task ids (`KEY_REGEX`, at most 250 characters). */
const KEY = /^[A-Za-z0-9_.-]{1,250}$/;
const KEYED = new Set(['dag_id', 'task_id']);

/**
 * Throws `PROXY_PATH_INVALID` for a parameter that is empty, a dot segment, holds a slash, a
 * backslash or a control character, or (for ids Airflow restricts) breaks Airflow's id rule. `~`
 * (Airflow's "every DAG") passes only where `allowAll` says the operation takes it.
 */
export function checkPathParam(name: string, value: string, allowAll: boolean): void {
  const bad = (why: string) =>
    new AirclutchError(
      'PROXY_PATH_INVALID',
      `path parameter ${name} ${why}: nothing was sent to Airflow; send the id as Airflow names it`,
      { details: { param: name } },
    );
  if (value === '~' && name === 'dag_id') {
    if (allowAll) return;
    throw bad('is ~ (every DAG), which this operation does not take');
  }
  if (value === '' || value === '.' || value === '..') throw bad('is empty or a dot segment');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused.
  if (/[/\\\u0000-\u001f\u007f]/.test(value)) throw bad('holds a slash, a backslash or a control character');
  if (KEYED.has(name) && !KEY.test(value)) throw bad('is not a valid Airflow id (letters, digits, _ . -)');
}
