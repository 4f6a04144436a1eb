/**
 * The `airflow` block of an environment: which Airflow deployment backs it, which API version it
 * speaks, how Airclutch authenticates (never with a secret in the file: a credential source names
 * where the secret lives), and the timeouts and intervals of the bridge.
 * @module
 */
import { z } from 'zod';

/** Where a secret comes from: an environment variable, a file (re-read when it changes) or a command's stdout. */
export const credentialSourceSchema = z.union([
  z.object({ env: z.string().min(1) }).strict(),
  z.object({ file: z.string().min(1) }).strict(),
  z
    .object({
      /** argv, run without a shell: `["vault", "kv", "get", "-field=password", "secret/airflow"]`. */
      command: z.array(z.string().min(1)).min(1),
      /** How long a command's answer is reused before it runs again. */
      cacheMs: z.number().int().min(0).default(300_000),
    })
    .strict(),
]);
export type CredentialSourceConfig = z.infer<typeof credentialSourceSchema>;

export const airflowAuthSchema = z.discriminatedUnion('kind', [
  /** Airflow 3: `POST /auth/token` with a username and password (simple or FAB auth manager). */
  z
    .object({ kind: z.literal('password'), username: z.string().min(1), password: credentialSourceSchema })
    .strict(),
  /** A bearer token from an OIDC client-credentials grant, for an auth manager that trusts the IdP. */
  z
    .object({
      kind: z.literal('client-credentials'),
      tokenUrl: z.url(),
      clientId: z.string().min(1),
      clientSecret: credentialSourceSchema,
      scope: z.string().optional(),
      audience: z.string().optional(),
    })
    .strict(),
  /** Airflow 2: HTTP basic auth (the `basic_auth` API backend). */
  z
    .object({ kind: z.literal('basic'), username: z.string().min(1), password: credentialSourceSchema })
    .strict(),
]);
export type AirflowAuthConfig = z.infer<typeof airflowAuthSchema>;

export const airflowConfigSchema = z
  .object({
    /** The web server's base URL, without `/api/...`: `https://airflow.example.com`. */
    baseUrl: z.url(),
    /** `v2` for Airflow 3.x, `v1` for Airflow 2.x. Checked against `/version` at start-up and by `doctor`. */
    api: z.enum(['v1', 'v2']),
    auth: airflowAuthSchema,
    /** One HTTP call's deadline. */
    requestTimeoutMs: z.number().int().min(100).default(10_000),
    /** Retries of a call that is safe to repeat (reads, state patches, a trigger with our run id). */
    retries: z.number().int().min(0).max(10).default(3),
    /** First backoff between retries; doubles each time, capped at 30 s. */
    retryBaseMs: z.number().int().min(1).default(500),
    /** How often a remote run is polled at first; the interval backs off up to `maxPollIntervalMs`. */
    pollIntervalMs: z.number().int().min(100).default(5_000),
    maxPollIntervalMs: z.number().int().min(100).default(60_000),
    /** How often the DAG catalogue is refreshed. */
    catalogRefreshMs: z.number().int().min(1_000).default(60_000),
    /** Airflow's `/dags` page size when the catalogue is read. */
    pageSize: z.number().int().min(1).max(1000).default(100),
  })
  .strict();
export type AirflowConfig = z.infer<typeof airflowConfigSchema>;
export type AirflowConfigInput = z.input<typeof airflowConfigSchema>;
