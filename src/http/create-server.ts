/**
 * The HTTP API: a thin Fastify shell over the gate. Each route declares the action it needs, the
 * caller is verified before anything else runs, the route calls one gate function and maps its
 * result. Every failure is `application/problem+json` with a stable code and the request id (also
 * in `x-request-id` and in the audit record), never a stack trace.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Airclutch } from '../app/create-airclutch.ts';
import { RefusalRecorder } from '../audit/refusal-recorder.ts';
import { FleetMetrics } from '../engine/fleet/fleet-metrics.ts';
import type { TokenVerifier } from '../identity/token-verifier.ts';
import type { WebSignIn } from '../identity/web-sign-in.ts';
import { airclutchVersion, VERSION_HEADER } from '../lib/airclutch-version.ts';
import { AirclutchError } from '../lib/errors.ts';
import { uiLinks } from '../lib/ui-links.ts';
import { airflowProxy } from '../proxy/airflow-proxy.ts';
import { type UiPluginOptions, uiPlugin } from '../ui/ui-plugin.ts';
import type { ApiDeps } from './api-deps.ts';
import { NO_QUERY, problemSchema } from './api-schemas.ts';
import { authenticate } from './authenticate.ts';
import { slackInteractivity } from './chat/slack-interactivity.ts';
import { allowOrigins } from './cors-hook.ts';
import { FailureLimiter } from './failure-limiter.ts';
import { HttpMetrics } from './http-metrics.ts';
import { toHttpError } from './http-problem.ts';
import { publicBaseUrl } from './public-base-url.ts';
import { airflowRoutes } from './routes/airflow-routes.ts';
import { approvalsRoutes } from './routes/approvals-routes.ts';
import { auditRoutes } from './routes/audit-routes.ts';
import { dagsRoutes } from './routes/dags-routes.ts';
import { eventsRoute } from './routes/events-route.ts';
import { explainRoute } from './routes/explain-route.ts';
import { policiesRoute } from './routes/policies-route.ts';
import { runsRoutes } from './routes/runs-routes.ts';
import { systemRoutes } from './routes/system-routes.ts';
import { workersRoute } from './routes/workers-route.ts';
import { securityHeaders } from './security-headers.ts';
import { maxHeaderSizeFor, type ServerConfig } from './server-config.ts';
import { sessionPlugin } from './session-plugin.ts';

export interface CreateServerOptions {
  /** Verifies bearer tokens (`OidcTokenVerifier.fromConfig(config.identity)`). */
  readonly verifier: TokenVerifier;
  /** Defaults to `ac.config.server`. */
  readonly server?: ServerConfig;
  /** Enables browser sign-in and session cookies (with CSRF) when given. */
  readonly signIn?: WebSignIn;
  /** A pino logger for request logs (off when absent). */
  readonly logger?: FastifyBaseLogger;
  /** The clock of the rate limiters and the Slack replay window. */
  readonly now?: () => number;
  /** How often a followed log stream polls (default 250 ms). */
  readonly logPollMs?: number;
  /** Node process metrics (event loop, memory) on /metrics; off in tests. */
  readonly processMetrics?: boolean;
  /** Sizes the HTTP header limit; defaults to `ac.config.identity.maxTokenBytes`. */
  readonly maxTokenBytes?: number;
  /** The web UI at `/` (default: the built app in `dist/web`); `false` serves the API only. */
  readonly ui?: UiPluginOptions | false;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Builds the server without listening: call `listen()` or use `inject()`.
 *
 * @example
 * const app = await createServer(ac, { verifier: OidcTokenVerifier.fromConfig(config.identity) });
 * await app.listen({ port: 8080, host: '127.0.0.1' });
 */
export async function createServer(ac: Airclutch, options: CreateServerOptions): Promise<FastifyInstance> {
  const cfg = options.server ?? ac.config.server;
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    // One access line per request, written when it ends (below), instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: cfg.bodyLimitBytes,
    trustProxy: cfg.trustProxy,
    // Oversized tokens must reach the verifier (401, audited, counted), not Node's bare 431.
    http: { maxHeaderSize: maxHeaderSizeFor(options.maxTokenBytes ?? ac.config.identity.maxTokenBytes) },
    requestIdHeader: false,
    genReqId: (raw: IncomingMessage) => {
      const sent = raw.headers['x-request-id'];
      return typeof sent === 'string' && REQUEST_ID.test(sent) ? sent : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: false, allErrors: true, coerceTypes: 'array' } },
    return503OnClosing: true,
    // Long path ids reach the schema (a 400 naming the field) instead of the router's bare 414.
    routerOptions: { maxParamLength: 1_000 },
    // Errors the router raises before any route (bad URL encoding, …) are problems too.
    frameworkErrors: (e, req, reply) => sendProblem(req, reply, toHttpError(e)),
  });
  app.addSchema(problemSchema);
  installErrorHandling(app);
  // A POST without a body means "no options": the routes' body schemas then see an empty object.
  app.addHook('preValidation', async (req) => {
    if (req.body === undefined && req.method === 'POST') req.body = {};
  });

  const closing = new AbortController();
  const metrics = new HttpMetrics({ processMetrics: options.processMetrics ?? false });
  const unwatch = metrics.watch(ac.engine);
  // Queue depth per queue, read from the store when scraped: the same figure on every process.
  new FleetMetrics(metrics.registry, ac.db);
  // preClose, not onClose: the HTTP server waits for open streams before onClose hooks run.
  const streams = new Set<Promise<void>>();
  app.addHook('preClose', async () => {
    closing.abort();
    // Ended streams leave idle connections, which the HTTP server's close() then drops.
    await Promise.race([Promise.allSettled([...streams]), new Promise((r) => setTimeout(r, 2_000).unref())]);
  });
  app.addHook('onClose', async () => unwatch());
  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.request(req.method, route, reply.statusCode, reply.elapsedTime / 1000);
    // The path without its query: a sign-in callback carries its authorization code there.
    const path = req.url.split('?', 1)[0];
    const { statusCode, elapsedTime: responseTime } = reply;
    req.log.info(
      { method: req.method, path, statusCode, responseTime },
      `${req.method} ${path} ${statusCode} in ${Math.round(responseTime)} ms`,
    );
    done();
  });

  securityHeaders(app);
  if (cfg.corsOrigins.length) allowOrigins(app, cfg.corsOrigins);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Airclutch API',
        version: '1',
        description:
          'Every route acts as a verified identity (OIDC bearer token or session cookie) and goes through the gate: Cedar decides, the audit trail records.',
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          sessionCookie: { type: 'apiKey', in: 'cookie', name: 'airclutch_session' },
        },
      },
    },
  });
  if (options.signIn)
    await app.register(sessionPlugin, {
      ...options.signIn,
      audit: ac.audit,
      ...(options.now ? { now: options.now } : {}),
    });

  const now = options.now ?? Date.now;
  const failures = new FailureLimiter({
    max: cfg.rateLimit.tokenFailuresMax,
    windowMs: cfg.rateLimit.windowMs,
    now,
  });
  app.decorateRequest('principal', undefined);
  // Failed token checks reach the audit trail aggregated: one record per code and address per minute.
  // Bad tokens, aggregated per code, issuer and address: a flood must not flood the trail.
  const tokenFailures = new RefusalRecorder(ac.audit, {
    action: 'token.rejected',
    source: 'api',
    subjectField: 'issuer',
    clock: now,
  });
  app.addHook('onClose', async () => tokenFailures.flush());
  app.addHook('onRequest', authenticate(options.verifier, failures, tokenFailures));
  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    max: cfg.rateLimit.max,
    timeWindow: cfg.rateLimit.windowMs,
    keyGenerator: (req) => (req.principal ? `${req.principal.kind}:${req.principal.id}` : `ip:${req.ip}`),
    errorResponseBuilder: (_req, ctx) =>
      new AirclutchError(
        'RATE_LIMITED',
        `more than ${ctx.max} requests in ${ctx.after}: slow down and retry after the x-ratelimit-reset seconds`,
      ),
  });

  const deps: ApiDeps = {
    ac,
    metrics,
    closing: closing.signal,
    streams,
    logPollMs: options.logPollMs ?? 250,
  };
  await app.register(systemRoutes, deps);
  await app.register(
    async (api) => {
      // Every body of the API is JSON. Fastify's default text/plain parser let a text body through
      // to the schema, which then said only "body must be object".
      api.removeContentTypeParser('text/plain');
      // A route that declares no query parameters refuses any, as routes refuse unknown fields:
      // `POST …/runs?env=prod` must not start a run in the default environment.
      api.addHook('onRoute', (route) => {
        route.schema = { ...route.schema, querystring: route.schema?.querystring ?? NO_QUERY };
      });
      await dagsRoutes(api, deps);
      await runsRoutes(api, deps);
      await approvalsRoutes(api, deps);
      await explainRoute(api, deps);
      await policiesRoute(api, deps);
      await auditRoutes(api, deps);
      if (deps.ac.airflow) await airflowRoutes(api, deps);
      await eventsRoute(api, deps);
      await workersRoute(api, deps);
    },
    { prefix: '/api/v1' },
  );
  // Airflow's own REST API, behind the same identity checks, Cedar and audit trail (docs/proxy.md).
  if (ac.airflow && cfg.airflowProxy.enabled) {
    await app.register(async (scope) => airflowProxy(scope, ac, cfg.airflowProxy));
  }
  if (cfg.slack.signingSecret) {
    await app.register(slackInteractivity, {
      ac,
      slack: cfg.slack,
      identity: ac.config.identity,
      now,
      links: () => {
        const a = app.server.address();
        if (!a || typeof a === 'string') return cfg.publicUrl ? uiLinks(cfg.publicUrl) : undefined;
        const listening = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
        return uiLinks(publicBaseUrl({ server: cfg, identity: ac.config.identity }, listening));
      },
    });
  }
  if (options.ui !== false) await app.register(uiPlugin, options.ui ?? {});
  return app;
}

function installErrorHandling(app: FastifyInstance): void {
  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
    // Names this server and its version, so that the CLI can tell Airclutch from any other server.
    reply.header(VERSION_HEADER, airclutchVersion());
  });
  app.setErrorHandler((e, req, reply) => {
    const err = toHttpError(e);
    if (err.status >= 500) req.log.error({ err: e, requestId: req.id }, 'request failed');
    if (err.code === 'RATE_LIMITED' && !reply.hasHeader('retry-after')) reply.header('retry-after', '60');
    return sendProblem(req, reply, err);
  });
  app.setNotFoundHandler((req, reply) => {
    const err = new AirclutchError(
      'NOT_FOUND',
      `no route ${req.method} ${req.url.split('?')[0]}: see /openapi.json`,
    );
    return sendProblem(req, reply, err);
  });
}

function sendProblem(req: FastifyRequest, reply: FastifyReply, err: AirclutchError): FastifyReply {
  return reply
    .code(err.status)
    .header('x-request-id', req.id)
    .type('application/problem+json')
    .send({ ...err.toProblem(req.url.split('?')[0]), requestId: req.id });
}
