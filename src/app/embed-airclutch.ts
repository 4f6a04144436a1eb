/**
 * Airclutch for embedding in a program: the gate and a lifecycle, never the raw engine. Every run an
 * embedder starts passes Cedar and is recorded, like one from the API or the CLI; the engine behind
 * it starts nothing that has no decision record.
 * @module
 */
import type { AirclutchConfig } from '../config/config-schema.ts';
import type { RunState } from '../engine/states.ts';
import type { Gate } from '../gate/gate.ts';
import { type CreateOptions, createAirclutch } from './create-airclutch.ts';

export interface EmbeddedAirclutch {
  readonly config: AirclutchConfig;
  /** The one way in: `gate.trigger(ctx, input)`, `gate.breakGlass(…)`, and the gate's read helpers. */
  readonly gate: Gate;
  /** Recovers what a previous process left, then starts the engine and the scheduler. */
  start(): Promise<void>;
  /** Resolves when the run reaches a final state. */
  waitForRun(runId: string): Promise<RunState>;
  /** Stops the scheduler and the engine (running tasks get `graceMs`), then closes the store. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * @example
 * const ac = await embedAirclutch(await loadConfig());
 * await ac.start();
 * const result = await ac.gate.trigger({ principal, source: 'api', requestId }, { dagId: 'nightly_revenue' });
 * if (result.outcome === 'started') await ac.waitForRun(result.run.id);
 * await ac.stop();
 */
export async function embedAirclutch(
  config: AirclutchConfig,
  options: CreateOptions = {},
): Promise<EmbeddedAirclutch> {
  const ac = await createAirclutch(config, options);
  let started = false;
  return {
    config,
    gate: ac.gate,
    async start() {
      await ac.engine.start();
      await ac.scheduler.start();
      started = true;
    },
    waitForRun: (runId) => ac.engine.waitForRun(runId),
    async stop(graceMs) {
      if (started) {
        await ac.scheduler.stop();
        await ac.engine.stop(graceMs);
      }
      await ac.close();
    },
  };
}
