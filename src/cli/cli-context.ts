/**
 * What CLI commands share: the loaded config and the store, opened once per command. The modules
 * behind them are imported on use, so a command that needs no store never loads one.
 * @module
 */
import type { Command } from 'commander';
import type { AirclutchConfig } from '../config/config-schema.ts';
import type { DagRegistry } from '../dag/dag-registry.ts';
import { AirclutchError } from '../lib/errors.ts';
import type { Db } from '../store/create-db.ts';

/** The config for this invocation, honouring the global `--config` flag. */
export async function configFor(cmd: Command): Promise<AirclutchConfig> {
  const opts = cmd.optsWithGlobals() as { config?: string };
  const { loadConfig } = await import('../config/load-config.ts');
  return loadConfig(opts.config ? { path: opts.config } : {});
}

/** Loads the DAGs of every environment, or of one (which must be configured). */
export async function loadRegistry(config: AirclutchConfig, env: string | undefined): Promise<DagRegistry> {
  if (env !== undefined && !config.environments[env]) {
    const known = Object.keys(config.environments).join(', ') || '(none)';
    throw new AirclutchError(
      'DAG_NOT_FOUND',
      `environment ${env} is not configured in ${config.source}; environments: ${known}`,
    );
  }
  const environments = env === undefined ? config.environments : { [env]: config.environments[env]! };
  const { DagRegistry } = await import('../dag/dag-registry.ts');
  const registry = new DagRegistry({ ...config, environments });
  await registry.reload();
  return registry;
}

/** Runs `fn` with a migrated store, closing it afterwards. */
export async function withStore<T>(config: AirclutchConfig, fn: (db: Db) => Promise<T>): Promise<T> {
  const { openStore } = await import('../store/open-store.ts');
  const db = await openStore(config);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** Prints rows as JSON (for `--json`) or as an aligned table. */
export function printTable(rows: Record<string, unknown>[], json: boolean | undefined): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const cols = Object.keys(rows[0]!);
  const cell = (v: unknown) =>
    v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${line(cols.map((c) => c.toUpperCase()))}\n`);
  for (const r of rows) process.stdout.write(`${line(cols.map((c) => cell(r[c])))}\n`);
}
