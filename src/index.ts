/** Airclutch's public API: the DAG builder for DAG files, and the config helper. @module */

export { defineConfig } from './config/load-config.ts';
export { Dag, dag, isDag } from './dag/dag.ts';
export type {
  DagOptions,
  ShellTaskOptions,
  TaskContext,
  TaskHandle,
  TaskOptions,
  TriggerRule,
} from './dag/types.ts';
export { AirclutchError, type ErrorCode } from './lib/errors.ts';
