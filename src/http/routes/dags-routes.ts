/** `/api/v1/whoami`, `/api/v1/dags` and triggering a DAG: the HTTP shell over the gate. @module */
import type { FastifyInstance } from 'fastify';
import { describeDag } from '../../dag/describe-dag.ts';
import { revealDag } from '../../gate/dag-visibility.ts';
import { importErrorsFor, listDagsFor } from '../../gate/gate-reads.ts';
import { isAirclutchError } from '../../lib/errors.ts';
import type { ApiDeps } from '../api-deps.ts';
import {
  approvalSchema,
  authErrors,
  bearer,
  dagSchema,
  decisionSchema,
  envQuery,
  ID_PATTERN,
  idParam,
  importErrorSchema,
  runSchema,
} from '../api-schemas.ts';
import { gateContext } from '../gate-context.ts';
import { backfillRoute } from './backfill-route.ts';

interface TriggerBody {
  params?: Record<string, unknown>;
  note?: string;
  env?: string;
}

const triggerBody = {
  type: 'object',
  properties: {
    params: { type: 'object', additionalProperties: true, description: "values for the DAG's params schema" },
    note: { type: 'string', maxLength: 2_000, description: 'why: kept on the run and in the audit trail' },
    env: { type: 'string', pattern: ID_PATTERN, description: 'defaults to the default environment' },
  },
  additionalProperties: false,
} as const;

const whoamiSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    kind: { type: 'string', enum: ['user', 'service'] },
    id: { type: 'string' },
    displayName: { type: ['string', 'null'] },
    groups: { type: 'array', items: { type: 'string' } },
    issuer: { type: 'string' },
    subject: { type: 'string' },
    scopes: { type: 'array', items: { type: 'string' } },
    tokenExpiresAt: { type: ['integer', 'null'], description: 'epoch ms' },
    via: { type: 'string', enum: ['bearer', 'session'] },
  },
} as const;

const nullable = (type: string) => ({ type: [type, 'null'] }) as const;

/** `DagDetails` (src/dag/describe-dag.ts): what `airclutch dags show` prints. */
const dagDetailsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: { type: 'string' },
    env: { type: 'string' },
    schedule: nullable('string'),
    tasks: { type: 'integer' },
    owner: nullable('string'),
    tags: { type: 'array', items: { type: 'string' } },
    file: { type: 'string', description: 'relative to the server project root' },
    description: nullable('string'),
    version: { type: 'string' },
    definedAt: nullable('string'),
    timezone: { type: 'string' },
    catchup: { type: 'boolean' },
    maxActiveRuns: nullable('integer'),
    nextRuns: { type: 'array', items: { type: 'string' }, description: 'next fire times, ISO (UTC)' },
    params: { type: 'object', additionalProperties: true, description: "the params' JSON Schema" },
    taskDetails: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          id: { type: 'string' },
          kind: { type: 'string', enum: ['function', 'shell'] },
          after: { type: 'array', items: { type: 'string' } },
          triggerRule: { type: 'string' },
          retries: { type: 'integer' },
          retryDelayMs: { type: 'integer' },
          maxRetryDelayMs: { type: 'integer' },
          retryBackoff: { type: 'string' },
          timeoutMs: nullable('integer'),
          description: nullable('string'),
        },
      },
    },
  },
} as const;

export async function dagsRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { gate } = deps.ac;

  app.get(
    '/whoami',
    {
      config: { auth: 'any' },
      schema: {
        summary: 'The verified caller: principal, groups, issuer, token expiry',
        tags: ['identity'],
        security: bearer,
        response: { 200: whoamiSchema, ...authErrors },
      },
    },
    async (req) => {
      const p = req.principal!;
      return {
        kind: p.kind,
        id: p.id,
        displayName: p.displayName ?? null,
        groups: p.groups,
        issuer: p.issuer,
        subject: p.subject,
        scopes: p.token?.scopes ?? [],
        tokenExpiresAt: p.token?.expiresAt ? p.token.expiresAt * 1000 : (req.session?.expiresAt ?? null),
        via: req.headers.authorization ? 'bearer' : 'session',
      };
    },
  );

  app.get<{ Querystring: { env?: string } }>(
    '/dags',
    {
      config: { auth: 'view' },
      schema: {
        summary: 'The DAGs the caller may view, with what it may do now (trigger: allow|approval|deny)',
        tags: ['dags'],
        security: bearer,
        querystring: envQuery,
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            properties: { dags: { type: 'array', items: dagSchema } },
          },
          ...authErrors,
        },
      },
    },
    async (req) => ({ dags: await listDagsFor(gate, gateContext(req), req.query.env) }),
  );

  app.get<{ Querystring: { env?: string } }>(
    '/import-errors',
    {
      config: { auth: 'view' },
      schema: {
        summary:
          "DAG files that did not load (local files and Airflow's import errors), for environments whose DAGs the caller may view",
        tags: ['dags'],
        security: bearer,
        querystring: envQuery,
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            properties: { errors: { type: 'array', items: importErrorSchema } },
          },
          ...authErrors,
        },
      },
    },
    async (req) => {
      const env = req.query.env === undefined ? undefined : gate.envOf(req.query.env);
      const { registry, config } = deps.ac;
      return { errors: importErrorsFor(gate, gateContext(req), registry.errors(env), config.rootDir) };
    },
  );

  app.get<{ Params: { dagId: string }; Querystring: { env?: string } }>(
    '/dags/:dagId',
    {
      config: { auth: 'view' },
      schema: {
        summary:
          'One DAG: tasks, params JSON Schema, and trigger: allow|approval|deny; 404 DAG_NOT_FOUND for one the caller may not view',
        tags: ['dags'],
        security: bearer,
        params: idParam('dagId'),
        querystring: envQuery,
        response: { 200: dagSchema, ...authErrors },
      },
    },
    async (req) => {
      const ctx = gateContext(req);
      const env = gate.envOf(req.query.env);
      // One who may not view it gets the same 404 as for a DAG that does not exist.
      await revealDag(gate, ctx, 'view', env, req.params.dagId);
      const all = await listDagsFor(gate, ctx, env);
      return all.find((d) => d.dagId === req.params.dagId);
    },
  );

  app.get<{ Params: { dagId: string }; Querystring: { env?: string } }>(
    '/dags/:dagId/details',
    {
      config: { auth: 'view' },
      schema: {
        summary:
          'One DAG in detail: retries, timeouts, file, next schedule ticks; 404 DAG_NOT_FOUND for one the caller may not view',
        tags: ['dags'],
        security: bearer,
        params: idParam('dagId'),
        querystring: envQuery,
        response: { 200: dagDetailsSchema, ...authErrors },
      },
    },
    async (req) => {
      const env = gate.envOf(req.query.env);
      await revealDag(gate, gateContext(req), 'view', env, req.params.dagId);
      const { registry, config } = deps.ac;
      return describeDag(registry.get(env, req.params.dagId), config.rootDir, new Date(gate.now()));
    },
  );

  app.post<{ Params: { dagId: string }; Body: TriggerBody | undefined }>(
    '/dags/:dagId/runs',
    {
      config: { auth: 'trigger' },
      schema: {
        summary: 'Trigger a run: 201 started, 202 awaiting approval, 403 denied, 400 invalid params',
        tags: ['runs'],
        security: bearer,
        params: idParam('dagId'),
        body: triggerBody,
        response: {
          201: {
            type: 'object',
            additionalProperties: false,
            properties: { run: runSchema, decision: decisionSchema },
          },
          202: {
            type: 'object',
            additionalProperties: false,
            properties: { run: runSchema, approval: approvalSchema, decision: decisionSchema },
          },
          ...authErrors,
        },
      },
    },
    async (req, reply) => {
      const body = req.body ?? {};
      try {
        const result = await gate.trigger(gateContext(req), {
          env: body.env,
          dagId: req.params.dagId,
          params: body.params ?? {},
          note: body.note,
        });
        deps.metrics.decision('trigger', result.outcome);
        const decision = { policies: result.decision.policies, reasons: result.decision.reasons };
        reply.header('location', `/api/v1/runs/${result.run.id}`);
        if (result.outcome === 'started') return reply.code(201).send({ run: result.run, decision });
        return reply.code(202).send({ run: result.run, approval: result.approval, decision });
      } catch (e) {
        deps.metrics.decision('trigger', isAirclutchError(e) ? e.code : 'error');
        throw e;
      }
    },
  );

  app.post<{ Params: { dagId: string }; Body: TriggerBody & { reason: string } }>(
    '/dags/:dagId/break-glass',
    {
      config: { auth: 'trigger' },
      schema: {
        summary:
          'Start a run now without approval (Cedar breakGlass, on-call); a review request opens for after the fact',
        tags: ['runs'],
        security: bearer,
        params: idParam('dagId'),
        body: {
          ...triggerBody,
          required: ['reason'],
          properties: {
            ...triggerBody.properties,
            reason: {
              type: 'string',
              minLength: 1,
              maxLength: 2_000,
              description: 'why the run cannot wait',
            },
          },
        },
        response: {
          201: {
            type: 'object',
            additionalProperties: false,
            properties: { run: runSchema, review: approvalSchema },
          },
          ...authErrors,
        },
      },
    },
    async (req, reply) => {
      const body = req.body;
      try {
        const result = await gate.breakGlass(gateContext(req), {
          env: body.env,
          dagId: req.params.dagId,
          params: body.params ?? {},
          note: body.note,
          reason: body.reason,
        });
        deps.metrics.decision('breakGlass', 'started');
        reply.header('location', `/api/v1/runs/${result.run.id}`);
        return reply.code(201).send(result);
      } catch (e) {
        deps.metrics.decision('breakGlass', isAirclutchError(e) ? e.code : 'error');
        throw e;
      }
    },
  );

  await backfillRoute(app, deps);
}
