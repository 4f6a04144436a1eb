/**
 * Embedding Airclutch in a program: build it from a config and use the gate, the one way in. The raw
 * engine is not exported: a run that did not pass the gate has no decision record, and the engine
 * refuses to start it (`RUN_UNDECIDED`). Import it as `airclutch/embed`; DAG files import only
 * `airclutch`, which stays light.
 * @module
 */
export { type EmbeddedAirclutch, embedAirclutch } from './app/embed-airclutch.ts';
export type { AirclutchConfig } from './config/config-schema.ts';
export { loadConfig } from './config/load-config.ts';
export type { RunSource } from './engine/engine-types.ts';
export type { Gate } from './gate/gate.ts';
export { cancelRunFor, getRunFor, listRunsFor } from './gate/gate-reads.ts';
export type { GateContext, TriggerInput, TriggerResult } from './gate/gate-types.ts';
export { voteOnApproval } from './gate/vote.ts';
export type { Principal } from './identity/principal.ts';
