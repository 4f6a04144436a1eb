/** The `audit` section of the config: the HMAC key for sensitive values, the checkpoint signing key, and the sinks. @module */
import { z } from 'zod';

export const auditSinkConfigSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('stdout'), name: z.string().default('stdout') }),
  z.strictObject({ type: z.literal('file'), name: z.string().optional(), path: z.string() }),
  z.strictObject({
    type: z.literal('webhook'),
    name: z.string().optional(),
    url: z.url(),
    headers: z.record(z.string(), z.string()).default({}),
    maxRetries: z.number().int().min(0).default(8),
    /** The first retry's delay; later ones double, up to 30 s. */
    retryDelayMs: z.number().int().min(1).default(500),
    timeoutMs: z.number().int().min(1).default(10_000),
  }),
]);

export const auditConfigSchema = z.strictObject({
  /**
   * Key of the HMACs that replace sensitive params and secrets. Prefer `hmacKeyFile`. Without
   * either, a random key is created once at `<dataDir>/audit-hmac.key` (mode 0600).
   */
  hmacKey: z.string().min(16).optional(),
  hmacKeyFile: z.string().optional(),
  /** PEM Ed25519 private key that signs checkpoints. */
  checkpointKeyFile: z.string().optional(),
  /** PEM Ed25519 public key for `audit verify` (derived from the private key when absent). */
  checkpointPublicKeyFile: z.string().optional(),
  /** Consumers that follow the trail (at-least-once, with a persisted cursor each). */
  sinks: z.array(auditSinkConfigSchema).default([]),
  /** How often a sink polls for new records. */
  sinkPollMs: z.number().int().min(10).default(1_000),
});

export type AuditConfig = z.output<typeof auditConfigSchema>;
export type AuditSinkConfig = z.output<typeof auditSinkConfigSchema>;
