/**
 * Airclutch's public API for DAG files and config files: the DAG builder, `defineConfig`, and the
 * errors. Embedders import `airclutch/embed`. Everything else is internal.
 * @module
 */

export type { AirclutchConfig, AirclutchConfigInput } from './config/config-schema.ts';
export { defineConfig } from './config/define-config.ts';
export { Dag, dag, isDag } from './dag/dag.ts';
export type {
  ApprovalRule,
  DagOptions,
  RetryOptions,
  ShellTaskOptions,
  TaskContext,
  TaskHandle,
  TaskOptions,
  TriggerRule,
} from './dag/types.ts';
export { AirclutchError, ERROR_CODES, type ErrorCode } from './lib/errors.ts';
