/** Opens the configured store and brings its schema up to date. @module */
import { join } from 'node:path';
import type { AirclutchConfig } from '../config/config-schema.ts';
import { createDb, type Db } from './create-db.ts';
import { migrateToLatest } from './migrate.ts';

/** The store URL from config: `databaseUrl`, or `<dataDir>/airclutch.db`. */
export function storeUrl(config: Pick<AirclutchConfig, 'databaseUrl' | 'dataDir'>): string {
  return config.databaseUrl ?? join(config.dataDir, 'airclutch.db');
}

export async function openStore(config: Pick<AirclutchConfig, 'databaseUrl' | 'dataDir'>): Promise<Db> {
  const db = createDb({ url: storeUrl(config) });
  try {
    await migrateToLatest(db);
  } catch (e) {
    await db.close();
    throw e;
  }
  return db;
}
