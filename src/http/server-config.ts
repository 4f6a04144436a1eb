/** The `server` config section: where the HTTP API listens, its limits, CORS, and chat/webhook notifications. @module */
import { z } from 'zod';
import { proxyConfigSchema } from '../proxy/proxy-config.ts';

export const slackConfigSchema = z.strictObject({
  /** Incoming-webhook URL approval messages are posted to. Prefer `AIRCLUTCH_SLACK_WEBHOOK_URL`. */
  webhookUrl: z.url().optional(),
  /** The Slack app's signing secret for `/slack/interactivity`. Prefer `AIRCLUTCH_SLACK_SIGNING_SECRET`. */
  signingSecret: z.string().min(8).optional(),
  /**
   * Slack user id → IdP identity (email). A click from a user not listed here (and whose payload
   * carries no email) is refused: Airclutch never guesses who clicked.
   */
  users: z.record(z.string(), z.email()).default({}),
  /**
   * Email → IdP groups for voters who click in Slack (they present no token). Defaults to the dev
   * IdP's users in dev mode; in production, list the approvers' groups here.
   */
  directory: z.record(z.email(), z.array(z.string())).default({}),
  /** Seconds a signed interactivity request stays valid (Slack recommends 5 minutes). */
  replayWindowSec: z.number().int().min(1).max(3_600).default(300),
  /**
   * Origins a click's `response_url` may point to: the message is updated there after a vote.
   * Any other origin is ignored, so a request can never make Airclutch post elsewhere.
   */
  responseUrlOrigins: z.array(z.url()).default(['https://hooks.slack.com']),
});
export type SlackConfig = z.output<typeof slackConfigSchema>;

export const outgoingWebhookSchema = z.strictObject({
  url: z.url(),
  /** HMAC-SHA256 key for the `x-airclutch-signature` header. */
  secret: z.string().min(16),
  /** Event names to send (`approval.requested`, `approval.closed`, `run.<state>`); empty means all. */
  events: z.array(z.string()).default([]),
  /** Delivery attempts per pass; an event still failing is sent again on the next pass. */
  maxAttempts: z.number().int().min(1).max(20).default(5),
});
export type OutgoingWebhookConfig = z.output<typeof outgoingWebhookSchema>;

export const serverConfigSchema = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65_535).default(8080),
  /**
   * Where people reach this server's web UI, e.g. `https://airclutch.example.com`: Slack messages
   * link to its pages. Default: `identity.session.publicUrl` when set, else the listen address.
   * `AIRCLUTCH_PUBLIC_URL` sets both.
   */
  publicUrl: z.url().optional(),
  /**
   * Fastify's `trustProxy`, for a server behind a load balancer or reverse proxy: the proxies'
   * addresses or CIDRs (`"10.0.0.0/8"`, `["127.0.0.1", "10.1.2.3"]`, or `loopback`, `linklocal`,
   * `uniquelocal`), or `true` to trust every hop (only when nothing reaches the server except through
   * the proxy). The client address in `X-Forwarded-For` then keys the token-failure lockout, the rate
   * limit and the audit records. Default `false`: the socket's address; `X-Forwarded-For` is ignored.
   * (Hop counts are not offered: Fastify cannot check the immediate peer with them.)
   */
  trustProxy: z.union([z.boolean(), z.string().min(1), z.array(z.string().min(1)).min(1)]).default(false),
  /** Largest request body accepted. */
  bodyLimitBytes: z.number().int().min(1_024).max(10_485_760).default(262_144),
  /** Origins allowed to call the API from a browser. Empty (the default) sends no CORS headers at all. */
  corsOrigins: z.array(z.string()).default([]),
  rateLimit: z
    .object({
      /** Requests per principal (or per IP before sign-in) per window. */
      max: z.number().int().min(1).default(1_200),
      windowMs: z.number().int().min(1_000).default(60_000),
      /** Failed token checks per IP per window before that IP gets 429s. */
      tokenFailuresMax: z.number().int().min(1).default(30),
    })
    .default({ max: 1_200, windowMs: 60_000, tokenFailuresMax: 30 }),
  slack: slackConfigSchema.default(slackConfigSchema.parse({})),
  webhooks: z.array(outgoingWebhookSchema).default([]),
  /** The identity-aware proxy in front of each bridged Airflow's REST API (docs/proxy.md). */
  airflowProxy: proxyConfigSchema.default(proxyConfigSchema.parse({})),
});
export type ServerConfig = z.output<typeof serverConfigSchema>;

/**
 * The HTTP header limit for a token limit: room for a bearer token twice `identity.maxTokenBytes`
 * plus other headers, never below Node's 16 KiB. A token over `maxTokenBytes` then reaches the
 * verifier (401 `TOKEN_MALFORMED`, audited and counted) instead of Node's bare 431.
 *
 * @example
 * Fastify({ http: { maxHeaderSize: maxHeaderSizeFor(config.identity.maxTokenBytes) } });
 */
export function maxHeaderSizeFor(maxTokenBytes: number): number {
  return Math.max(16_384, 2 * maxTokenBytes + 8_192);
}

/**
 * Environment overrides for the server section: `AIRCLUTCH_HOST`, `AIRCLUTCH_PORT`,
 * `AIRCLUTCH_PUBLIC_URL`, `AIRCLUTCH_SLACK_WEBHOOK_URL`, `AIRCLUTCH_SLACK_SIGNING_SECRET`. Returns a new raw section.
 *
 * @example
 * merged.server = applyServerEnv(merged.server, process.env);
 */
export function applyServerEnv(raw: unknown, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const base = { ...((raw && typeof raw === 'object' ? raw : {}) as Record<string, any>) };
  if (env.AIRCLUTCH_HOST) base.host = env.AIRCLUTCH_HOST;
  if (env.AIRCLUTCH_PORT) base.port = Number(env.AIRCLUTCH_PORT);
  if (env.AIRCLUTCH_PUBLIC_URL) base.publicUrl = env.AIRCLUTCH_PUBLIC_URL;
  if (env.AIRCLUTCH_SLACK_WEBHOOK_URL || env.AIRCLUTCH_SLACK_SIGNING_SECRET) {
    base.slack = { ...base.slack };
    if (env.AIRCLUTCH_SLACK_WEBHOOK_URL) base.slack.webhookUrl = env.AIRCLUTCH_SLACK_WEBHOOK_URL;
    if (env.AIRCLUTCH_SLACK_SIGNING_SECRET) base.slack.signingSecret = env.AIRCLUTCH_SLACK_SIGNING_SECRET;
  }
  return base;
}
