/**
 * The identity-aware proxy in front of each bridged Airflow's REST API: `/airflow/{env}/api/v2/…`
 * (or `/api/v1/…` for Airflow 2) serves Airflow's own API, path for path. Each operation of the
 * published document is a route; the caller is verified like every API caller (OIDC bearer token,
 * the same error codes), the operation's rule decides with Cedar (and the gate, for triggers), the
 * call is recorded, and only then is Airflow asked, with Airclutch's own credential. Operations
 * refused on purpose, unmapped ones, unknown paths and bad path parameters never reach Airflow.
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AirflowClient } from '../airflow/airflow-client.ts';
import type { Airclutch } from '../app/create-airclutch.ts';
import type { AuditResource } from '../audit/audit-types.ts';
import { auditDecision } from '../gate/audit-events.ts';
import { gateContext } from '../http/gate-context.ts';
import { AirclutchError } from '../lib/errors.ts';
import { AirflowUpstream } from './airflow-upstream.ts';
import { filterList } from './filter-list.ts';
import { ProxyAudit } from './proxy-audit.ts';
import {
  auditResourceOf,
  callFacts,
  decide,
  type ProxyCall,
  type ProxyShared,
  type ProxyTarget,
  sendAnswer,
  sendJson,
  upstreamPathOf,
  upstreamRequest,
} from './proxy-call.ts';
import { proxyCancel, proxyPause } from './proxy-changes.ts';
import { proxyClear } from './proxy-clear.ts';
import type { ProxyConfig } from './proxy-config.ts';
import { type ProxyRoute, proxyRouteTable } from './proxy-route-table.ts';
import { scopeActionOf } from './proxy-rules.ts';
import { findProxyRun, maskConf } from './proxy-runs.ts';
import { proxyTrigger } from './proxy-trigger.ts';
import { resolveRunAlias } from './run-alias.ts';
import { checkPathParam } from './safe-path.ts';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/**
 * Registers the proxy for every Airflow-backed environment of `ac`. Call it inside its own plugin
 * scope: it replaces the body parsers there (bodies are passed on as sent, up to the limit).
 *
 * @example
 * await app.register(async (scope) => airflowProxy(scope, ac, config.server.airflowProxy));
 */
export async function airflowProxy(app: FastifyInstance, ac: Airclutch, config: ProxyConfig): Promise<void> {
  const bridge = ac.airflow;
  if (!bridge || !config.enabled) return;
  const shared: ProxyShared = {
    gate: ac.gate,
    bridge: bridge.deps,
    audit: new ProxyAudit(ac.audit, config.auditReads, ac.gate.now),
    config,
  };
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: config.bodyLimitBytes }, (_req, body, done) =>
    done(null, body),
  );
  const targets: ProxyTarget[] = [];
  for (const [env, client] of bridge.deps.clients) targets.push(targetOf(env, client, config));
  app.addHook('onClose', async () => {
    await shared.audit.flush();
    for (const t of targets) t.upstream.close();
  });
  // An environment that is not backed by Airflow (or does not exist) is not an Airflow.
  app.route({
    method: [...METHODS],
    url: '/airflow/*',
    schema: { hide: true },
    handler: async (req) => {
      const env = req.url.split('/')[2] ?? '';
      throw new AirclutchError(
        'NOT_FOUND',
        `no Airflow-backed environment ${JSON.stringify(env)}: the proxy serves ${targets.map((t) => t.prefix).join(', ')}`,
      );
    },
  });
  for (const target of targets) {
    const table = proxyRouteTable(target.api);
    for (const route of table) {
      app.route({
        method: route.method,
        url: `${target.prefix}/api/${target.api}${route.fastifyPath}`,
        bodyLimit: config.bodyLimitBytes,
        config: { auth: scopeActionOf(route.rule) },
        schema: { hide: true },
        handler: (req, reply) => handle(shared, target, route, req, reply),
      });
    }
    // Anything else under the prefix: an unknown path, answered here (never sent to Airflow).
    app.route({
      method: [...METHODS],
      url: `${target.prefix}/*`,
      schema: { hide: true },
      handler: async (req) => {
        throw new AirclutchError(
          'NOT_FOUND',
          `no Airflow ${target.api} operation ${req.method} ${req.url.split('?')[0]}: the proxy serves the operations of Airflow's published ${target.api} API under ${target.prefix}/api/${target.api}`,
        );
      },
    });
  }
}

function targetOf(env: string, client: AirflowClient, config: ProxyConfig): ProxyTarget {
  return {
    env,
    api: client.api,
    prefix: `/airflow/${env}`,
    client,
    upstream: new AirflowUpstream({
      baseUrl: client.baseUrl,
      auth: client.auth,
      timeoutMs: config.timeoutMs,
    }),
  };
}

async function handle(
  shared: ProxyShared,
  target: ProxyTarget,
  route: ProxyRoute,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<unknown> {
  const params = { ...((req.params ?? {}) as Record<string, string>) };
  const call: ProxyCall = {
    shared,
    target,
    route,
    req,
    reply,
    ctx: gateContext(req),
    params,
    body: Buffer.isBuffer(req.body) && req.body.length > 0 ? req.body : undefined,
  };
  const resource = { env: target.env, ...(params.dag_id ? { dagId: params.dag_id } : {}) };
  const refuse = async (e: AirclutchError) => {
    await shared.audit.refusal({
      ...callFacts(call),
      resource,
      outcome: 'refused',
      details: { code: e.code },
    });
    return e;
  };
  if (route.denied) {
    throw await refuse(
      new AirclutchError(
        'PROXY_OPERATION_DENIED',
        `${route.operationId} (${route.method} ${route.path}) is not offered through Airclutch: ${route.denied}. Nothing was sent to Airflow`,
        { details: { operation: route.operationId } },
      ),
    );
  }
  const rule = route.rule;
  if (!rule) {
    throw await refuse(
      new AirclutchError(
        'PROXY_OPERATION_UNMAPPED',
        `${route.operationId} (${route.method} ${route.path}) has no decision rule in Airclutch's route table, so it is denied: see docs/proxy.md. Nothing was sent to Airflow`,
        { details: { operation: route.operationId } },
      ),
    );
  }
  try {
    for (const name of route.params) checkPathParam(name, params[name] ?? '', rule.kind === 'list');
  } catch (e) {
    throw e instanceof AirclutchError ? await refuse(e) : e;
  }
  if (params.dag_run_id && params.dag_id) {
    // A caller's own dag_run_id (sent with its trigger) names the run Airclutch delivered for it.
    const canonical = await resolveRunAlias(shared.gate, target.env, params.dag_id, params.dag_run_id);
    if (canonical) {
      params.dag_run_id = canonical;
      reply.header('content-location', `${target.prefix}${upstreamPathOf(call)}`);
    }
  }
  switch (rule.kind) {
    case 'public':
      return forwardRead(call, resource);
    case 'dag': {
      await decide(call, rule.action, { kind: 'dag', env: target.env, dagId: params.dag_id! });
      return forwardRead(call, resource);
    }
    case 'run': {
      const run = await findProxyRun(shared.gate, target.env, params.dag_id!, params.dag_run_id!);
      await decide(call, rule.action, run.resource, run.params);
      if (route.operationId !== 'get_dag_run') return forwardRead(call, auditResourceOf(run.resource));
      // A run's conf may hold values this caller may not see: the answer is read and masked.
      const { status, body } = await target.upstream.json(upstreamRequest(call));
      await shared.audit.read({
        ...callFacts(call),
        resource: auditResourceOf(run.resource),
        outcome: `airflow ${status}`,
        airflowStatus: status,
      });
      const b = body as Record<string, unknown> | undefined;
      const shown =
        status === 200 && b && 'conf' in b
          ? { ...b, conf: maskConf(shared.gate, call.ctx, run, b.conf) }
          : body;
      return sendJson(reply, status, shown);
    }
    case 'list':
      return filterList(call, rule.list);
    case 'admin': {
      const decision = await decide(call, rule.action, { kind: 'env', env: target.env });
      if (!rule.write) return forwardRead(call, resource);
      // Fail closed: the decision is recorded before Airflow is asked.
      await shared.audit.record({
        ...callFacts(call),
        resource,
        decision: auditDecision('allow', decision),
        outcome: 'allowed',
        secrets: bodySecrets(call.body),
      });
      const res = await target.upstream.send(upstreamRequest(call));
      await shared.audit.record({
        ...callFacts(call),
        resource,
        outcome: `airflow ${res.statusCode}`,
        airflowStatus: res.statusCode,
      });
      return sendAnswer(reply, res);
    }
    case 'trigger':
      return proxyTrigger(call);
    case 'cancel':
      return proxyCancel(call);
    case 'pause':
      return proxyPause(call);
    case 'clear':
      return proxyClear(call, rule.scope);
    default: {
      const never: never = rule;
      throw new TypeError(`unknown proxy rule ${JSON.stringify(never)}`);
    }
  }
}

/** An allowed read: Airflow is asked, the read recorded as configured, and the answer streamed back. */
async function forwardRead(call: ProxyCall, resource: AuditResource): Promise<unknown> {
  const res = await call.target.upstream.send(upstreamRequest(call));
  try {
    await call.shared.audit.read({
      ...callFacts(call),
      resource,
      outcome: `airflow ${res.statusCode}`,
      airflowStatus: res.statusCode,
    });
  } catch (e) {
    res.destroy();
    throw e;
  }
  return sendAnswer(call.reply, res);
}

/** A write's body fields, kept in the trail as HMACs only (values such as a variable's may be secret). */
function bodySecrets(body: Buffer | undefined): Record<string, string> | undefined {
  if (!body) return undefined;
  try {
    const v = JSON.parse(body.toString('utf8')) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).map(([k, x]) => [
          k,
          typeof x === 'string' ? x : JSON.stringify(x),
        ]),
      );
    }
  } catch {
    // Not JSON: the body is kept whole, as one HMAC.
  }
  return { body: body.toString('utf8') };
}
