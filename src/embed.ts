/**
 * Embedding Airclutch in a program: build or start it from a config, or run the engine on a fixed
 * set of DAGs. Import it as `airclutch/embed`; DAG files import only `airclutch`, which stays light.
 * @module
 */
export { type Airclutch, createAirclutch } from './app/create-airclutch.ts';
export { type AirclutchApp, startAirclutch } from './app/start-airclutch.ts';
export type { AirclutchConfig } from './config/config-schema.ts';
export { loadConfig } from './config/load-config.ts';
export { Engine, type EngineOptions } from './engine/engine.ts';
export type { RunSource } from './engine/engine-types.ts';
export { StaticDagSource } from './engine/static-dag-source.ts';
export type { GateContext, TriggerResult } from './gate/gate-types.ts';
export type { Principal } from './identity/principal.ts';
