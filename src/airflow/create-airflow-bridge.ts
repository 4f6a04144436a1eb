/**
 * Builds the Airflow side of Airclutch from the config: for each environment with an `airflow`
 * block, a client (with its auth and credential sources) and a catalogue. The executor is made later,
 * once the store, the audit trail and the engine exist.
 * @module
 */
import type { AirclutchConfig } from '../config/config-schema.ts';
import { airflowAuth } from './airflow-auth.ts';
import { AirflowCatalog } from './airflow-catalog.ts';
import { AirflowClient } from './airflow-client.ts';
import type { AirflowConfig } from './airflow-config.ts';
import type { AirflowEnvironment } from './airflow-environment.ts';

export interface AirflowBridgeParts {
  readonly catalogs: ReadonlyMap<string, AirflowCatalog>;
  readonly environments: ReadonlyMap<string, AirflowEnvironment & { readonly config: AirflowConfig }>;
  /** Refreshes every catalogue once; a failure is kept (and shown as an import error), never thrown. */
  refreshAll(): Promise<void>;
}

/**
 * @example
 * const bridge = createAirflowBridge(config);
 * await bridge.refreshAll();
 */
export function createAirflowBridge(
  config: Pick<AirclutchConfig, 'environments' | 'rootDir'>,
  options: { now?: () => number; env?: NodeJS.ProcessEnv } = {},
): AirflowBridgeParts {
  const catalogs = new Map<string, AirflowCatalog>();
  const environments = new Map<string, AirflowEnvironment & { config: AirflowConfig }>();
  for (const [env, e] of Object.entries(config.environments)) {
    const af = e.airflow;
    if (!af) continue;
    const auth = airflowAuth(af.auth, {
      baseUrl: af.baseUrl,
      timeoutMs: af.requestTimeoutMs,
      rootDir: config.rootDir,
      ...(options.now ? { now: options.now } : {}),
      ...(options.env ? { env: options.env } : {}),
    });
    const client = new AirflowClient({
      baseUrl: af.baseUrl,
      api: af.api,
      auth,
      requestTimeoutMs: af.requestTimeoutMs,
      retries: af.retries,
      retryBaseMs: af.retryBaseMs,
      pageSize: af.pageSize,
    });
    catalogs.set(env, new AirflowCatalog({ env, client, ...(options.now ? { now: options.now } : {}) }));
    environments.set(env, {
      client,
      pollIntervalMs: af.pollIntervalMs,
      maxPollIntervalMs: af.maxPollIntervalMs,
      config: af,
    });
  }
  return {
    catalogs,
    environments,
    async refreshAll() {
      await Promise.all([...catalogs.values()].map((c) => c.refresh().catch(() => undefined)));
    },
  };
}
