/** The `server.airflowProxy` config section: limits, deadlines and how reads are audited (docs/proxy.md). @module */
import { z } from 'zod';

export const proxyConfigSchema = z
  .object({
    /** Serve `/airflow/{env}/api/…` for each Airflow-backed environment. */
    enabled: z.boolean().default(true),
    /** Largest request body passed to Airflow (413 above it). */
    bodyLimitBytes: z.number().int().min(1_024).max(104_857_600).default(1_048_576),
    /** How long Airflow may take to answer (504 after it); also the longest silence in a streamed answer. */
    timeoutMs: z.number().int().min(100).default(30_000),
    /** Items a filtered list reads from Airflow at most before paging locally (a larger list is cut, and says so). */
    maxListItems: z.number().int().min(100).max(1_000_000).default(50_000),
    /**
     * How reads are recorded. `all`: one record per read (before the answer is sent: no record, no
     * answer). `sample`: a record for that share of reads (`sampleRate`). `aggregate`: one record per
     * caller, operation, decision and status per `windowMs`, with the count. Writes and refusals are
     * always recorded one by one, before Airflow is asked.
     */
    auditReads: z
      .object({
        mode: z.enum(['all', 'sample', 'aggregate']).default('all'),
        sampleRate: z.number().min(0).max(1).default(0.1),
        windowMs: z.number().int().min(1_000).default(60_000),
      })
      .default({ mode: 'all', sampleRate: 0.1, windowMs: 60_000 }),
  })
  .strict();
export type ProxyConfig = z.output<typeof proxyConfigSchema>;
