/** The shape of `airclutch.config.ts` / `airclutch.config.yaml`: one zod schema per capability, composed here. @module */
import { z } from 'zod';
import { airflowConfigSchema } from '../airflow/airflow-config.ts';
import { auditConfigSchema } from '../audit/audit-config.ts';
import { serverConfigSchema } from '../http/server-config.ts';
import { identityConfigSchema } from '../identity/identity-config.ts';

/** An environment groups DAG folders and policy folders: `dev`, `staging`, `prod`. */
export const environmentSchema = z.strictObject({
  /** Folders of DAG `.ts` files, relative to the config file. */
  dags: z.array(z.string()).default([]),
  /** Folders of shared `.cedar` policies, relative to the config file. */
  policies: z.array(z.string()).default([]),
  /** The approval rule for this environment's DAGs that do not set their own (default: 1 approver, 24 h). */
  approvals: z
    .object({
      quorum: z.number().int().min(1).max(20).optional(),
      expiresAfterMs: z.number().int().min(1_000).optional(),
    })
    .optional(),
  /** An Airflow deployment whose DAGs this environment gates (docs/airflow.md). Its runs execute there. */
  airflow: airflowConfigSchema.optional(),
});

export const engineConfigSchema = z.strictObject({
  /** Task attempts that may run at once in this process. */
  concurrency: z.number().int().min(1).max(10_000).default(32),
  /** How long SIGTERM waits for running tasks before it stops them. */
  shutdownGraceMs: z.number().int().min(0).default(30_000),
  /** Default for DAGs that do not set `maxActiveRuns`. */
  defaultMaxActiveRuns: z.number().int().min(1).default(16),
  /**
   * How long an attempt's lease lasts without its holder's heartbeat (renewed every third of it).
   * After that, another worker reclaims the attempt and the task retries by its policy.
   */
  attemptLeaseMs: z.number().int().min(300).default(30_000),
  /** Worker queues with a cluster-wide limit on attempts running at once: `{ gpu: { concurrency: 2 } }`. */
  queues: z
    .record(z.string(), z.strictObject({ concurrency: z.number().int().min(1).max(100_000) }))
    .default({}),
});

export const configSchema = z.strictObject({
  /** Where the embedded database, logs and caches live. */
  dataDir: z.string().default('.airclutch'),
  /** `sqlite:` path or `postgres://` URL. Defaults to `<dataDir>/airclutch.db`. */
  databaseUrl: z.string().optional(),
  /** The environment used when a command names none. */
  defaultEnv: z.string().default('dev'),
  environments: z.record(z.string(), environmentSchema).default({ dev: { dags: ['dags'], policies: [] } }),
  engine: engineConfigSchema.default(engineConfigSchema.parse({})),
  identity: identityConfigSchema.default(identityConfigSchema.parse({})),
  audit: auditConfigSchema.default(auditConfigSchema.parse({})),
  server: serverConfigSchema.default(serverConfigSchema.parse({})),
});

export type AirclutchConfigInput = z.input<typeof configSchema>;
export type AirclutchConfig = z.output<typeof configSchema> & {
  /** The folder paths in the config are relative to this one. */
  rootDir: string;
  /** Where the config came from, for messages. */
  source: string;
};
