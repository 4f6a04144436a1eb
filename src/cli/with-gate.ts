/** The CLI's way into the gate: the verified caller and a whole Airclutch, closed afterwards. @module */
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { type Airclutch, createAirclutch } from '../app/create-airclutch.ts';
import type { AirclutchConfig } from '../config/config-schema.ts';
import type { GateContext } from '../gate/gate-types.ts';
import { configFor } from './cli-context.ts';
import { cliPrincipal, type IdentityFlags } from './cli-principal.ts';

/**
 * Verifies the caller's token for `action` (its scopes apply), opens Airclutch, and runs `fn` with a
 * gate context whose source is `cli`.
 *
 * @example
 * await withGate(cmd, opts, 'view', (ac, ctx) => listRunsFor(ac.gate, ctx, {}));
 */
export async function withGate<T>(
  cmd: Command,
  flags: IdentityFlags,
  action: string,
  fn: (ac: Airclutch, ctx: GateContext, config: AirclutchConfig) => Promise<T>,
): Promise<T> {
  const config = await configFor(cmd);
  const principal = await cliPrincipal(config, flags, action);
  const ac = await createAirclutch(config);
  try {
    return await fn(ac, { principal, source: 'cli', requestId: randomUUID() }, config);
  } finally {
    await ac.close();
  }
}
