/**
 * `defineConfig`, for `airclutch.config.ts`. It lives apart from `loadConfig` because the public entry
 * re-exports it, and every task thread imports that entry with each DAG file: reaching the YAML parser
 * and every config schema from here cost each thread ~17 MB.
 * @module
 */
import type { AirclutchConfigInput } from './config-schema.ts';

/**
 * Typed helper for `airclutch.config.ts`.
 *
 * @example
 * export default defineConfig({ environments: { dev: { dags: ['dags'] } } });
 */
export function defineConfig(config: AirclutchConfigInput): AirclutchConfigInput {
  return config;
}
