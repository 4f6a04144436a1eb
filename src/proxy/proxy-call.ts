/**
 * One proxied call: who asks (the verified principal), which operation of which environment's
 * Airflow, with which path parameters and body; and the steps every rule shares: ask Cedar (a deny
 * is recorded and answered with the reasons and what would allow it), build the upstream request
 * (Airclutch's credential, never the caller's; hop-by-hop headers removed; `X-Forwarded-*` set), and
 * pass Airflow's answer back as a stream.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { BridgeDeps } from '../airflow/airflow-actions.ts';
import type { AirflowClient } from '../airflow/airflow-client.ts';
import type { AirflowApiVersion } from '../airflow/airflow-types.ts';
import type { AuditResource } from '../audit/audit-types.ts';
import { auditDecision } from '../gate/audit-events.ts';
import type { Gate } from '../gate/gate.ts';
import type { GateContext } from '../gate/gate-types.ts';
import { AirclutchError } from '../lib/errors.ts';
import type { PolicyAction } from '../policy/cedar-names.ts';
import type { Decision, PolicyRequest, PolicyResource } from '../policy/policy-engine.ts';
import type { AirflowUpstream, UpstreamRequest } from './airflow-upstream.ts';
import { endToEndHeaders } from './end-to-end-headers.ts';
import type { ProxyAudit } from './proxy-audit.ts';
import type { ProxyConfig } from './proxy-config.ts';
import type { ProxyRoute } from './proxy-route-table.ts';

/** One Airflow-backed environment as the proxy serves it. */
export interface ProxyTarget {
  readonly env: string;
  readonly api: AirflowApiVersion;
  /** `/airflow/<env>`: what the caller puts before `/api/vN`. */
  readonly prefix: string;
  readonly upstream: AirflowUpstream;
  readonly client: AirflowClient;
}

/** What every call shares. */
export interface ProxyShared {
  readonly gate: Gate;
  readonly bridge: BridgeDeps;
  readonly audit: ProxyAudit;
  readonly config: ProxyConfig;
}

export interface ProxyCall {
  readonly shared: ProxyShared;
  readonly target: ProxyTarget;
  readonly route: ProxyRoute;
  readonly req: FastifyRequest;
  readonly reply: FastifyReply;
  readonly ctx: GateContext;
  readonly params: Readonly<Record<string, string>>;
  /** The request body as sent (undefined when there is none). */
  readonly body: Buffer | undefined;
}

/** Request headers that never reach Airflow: the caller's credentials and what the proxy sets itself. */
const DROP_REQUEST = [
  'authorization',
  'cookie',
  'host',
  'content-length',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-prefix',
  'x-request-id',
];
/** Answer headers that stay with Airflow: its cookies are for its own origin. */
const DROP_ANSWER = ['set-cookie', 'content-security-policy', 'strict-transport-security'];

/** The audit resource of a Cedar resource. */
export function auditResourceOf(resource: PolicyResource, extra: AuditResource = {}): AuditResource {
  return {
    env: resource.env,
    ...('dagId' in resource ? { dagId: resource.dagId } : {}),
    ...(resource.kind === 'run' ? { runId: resource.runId } : {}),
    ...extra,
  };
}

/**
 * Asks Cedar. A deny is recorded (operation, resource, determining policies) and thrown as
 * `POLICY_DENIED` with the reasons and what would allow it, as the API answers.
 */
export async function decide(
  call: ProxyCall,
  action: PolicyAction,
  resource: PolicyResource,
  params?: Record<string, unknown>,
): Promise<Decision> {
  const { gate } = call.shared;
  const request: PolicyRequest = {
    principal: call.ctx.principal,
    action,
    resource,
    context: { params, now: new Date(gate.now()), source: call.ctx.source },
  };
  const decision = gate.policy.decide(request);
  if (decision.effect === 'allow') return decision;
  await call.shared.audit.refusal({
    ...callFacts(call),
    resource: auditResourceOf(resource),
    decision: auditDecision('deny', decision),
    outcome: 'denied',
    details: { action },
  });
  const target =
    resource.kind === 'env'
      ? `Airflow of environment ${resource.env}`
      : resource.kind === 'run'
        ? `run ${resource.runId} of ${resource.env}/${resource.dagId}`
        : `${resource.env}/${resource.dagId}`;
  throw gate.denied(action, target, request, decision);
}

/** The facts every record of this call carries. */
export function callFacts(call: ProxyCall) {
  return {
    principal: call.ctx.principal,
    operationId: call.route.operationId,
    method: call.route.method,
    requestId: call.ctx.requestId,
    source: call.ctx.source,
    pathParams: call.params,
  };
}

/** The upstream request for this call: the template rebuilt with checked params, the query as sent. */
export function upstreamRequest(
  call: ProxyCall,
  o: { query?: string; body?: Buffer | undefined; path?: string; method?: string } = {},
): UpstreamRequest {
  const { req, target } = call;
  const rawQuery = o.query ?? (req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '');
  const path = o.path ?? upstreamPathOf(call);
  const headers = endToEndHeaders(req.headers, DROP_REQUEST);
  const chain = req.ips?.length ? req.ips.slice().reverse() : [req.ip];
  headers['x-forwarded-for'] = chain.join(', ');
  headers['x-forwarded-proto'] = req.protocol;
  headers['x-forwarded-host'] = req.host;
  headers['x-forwarded-prefix'] = target.prefix;
  headers['x-request-id'] = req.id;
  const body = 'body' in o ? o.body : call.body;
  if (!body) delete headers['content-type'];
  return {
    method: o.method ?? call.route.method,
    path: rawQuery ? `${path}?${rawQuery}` : path,
    headers,
    body,
  };
}

/** `/api/vN/…` for this call's operation and params. */
export function upstreamPathOf(call: ProxyCall): string {
  return `/api/${call.target.api}${call.route.path.replace(/\{([^}]+)\}/g, (_m, n: string) =>
    encodeURIComponent(call.params[n] ?? ''),
  )}`;
}

/** Passes Airflow's answer back: status and end-to-end headers as Airflow sent them, the body streamed. */
export function sendAnswer(reply: FastifyReply, res: IncomingMessage): FastifyReply {
  reply.code(res.statusCode ?? 502);
  for (const [name, value] of Object.entries(endToEndHeaders(res.headers, DROP_ANSWER))) {
    if (value !== undefined) reply.header(name, value);
  }
  return reply.send(res);
}

/** Airflow's answer as JSON, with its status and content type, for answers the proxy rewrote. */
export function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).type('application/json').send(JSON.stringify(body));
}

/** The body as JSON (an object), or `REQUEST_INVALID` naming the operation. */
export function jsonBody(call: ProxyCall): Record<string, unknown> {
  if (!call.body || call.body.length === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(call.body.toString('utf8'));
  } catch {
    throw new AirclutchError(
      'REQUEST_INVALID',
      `the body of ${call.route.operationId} is not valid JSON: send a JSON object`,
    );
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) {
    throw new AirclutchError(
      'REQUEST_INVALID',
      `the body of ${call.route.operationId} must be a JSON object`,
    );
  }
  return v as Record<string, unknown>;
}
