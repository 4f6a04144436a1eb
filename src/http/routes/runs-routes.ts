/** `/api/v1/runs`: list, get (with tasks) and cancel, each through the gate. @module */
import type { FastifyInstance } from 'fastify';
import { RUN_STATES, type RunState } from '../../engine/states.ts';
import { cancelRunFor, getRunFor, listRunsFor } from '../../gate/gate-reads.ts';
import type { ApiDeps } from '../api-deps.ts';
import { authErrors, bearer, ID_PATTERN, idParam, runSchema, taskSchema } from '../api-schemas.ts';
import { gateContext } from '../gate-context.ts';
import { logsRoute } from './logs-route.ts';

interface RunsQuery {
  env?: string;
  dag?: string;
  state?: RunState;
  limit?: number;
  before?: string;
}

const runsQuery = {
  type: 'object',
  properties: {
    env: { type: 'string', pattern: ID_PATTERN },
    dag: { type: 'string', pattern: ID_PATTERN },
    state: { type: 'string', enum: [...RUN_STATES] },
    limit: { type: 'integer', minimum: 1, maximum: 1_000, default: 50 },
    before: { type: 'string', pattern: ID_PATTERN, description: 'paging: runs older than this run id' },
  },
  additionalProperties: false,
} as const;

export async function runsRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { gate } = deps.ac;

  app.get<{ Querystring: RunsQuery }>(
    '/runs',
    {
      config: { auth: 'view' },
      schema: {
        summary: 'Runs the caller may view, newest first',
        tags: ['runs'],
        security: bearer,
        querystring: runsQuery,
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            properties: {
              runs: { type: 'array', items: runSchema },
              nextBefore: { type: ['string', 'null'] },
            },
          },
          ...authErrors,
        },
      },
    },
    async (req) => {
      const q = req.query;
      const limit = q.limit ?? 50;
      const runs = await listRunsFor(gate, gateContext(req), {
        env: q.env,
        dagId: q.dag,
        state: q.state,
        limit,
        before: q.before,
      });
      return { runs, nextBefore: runs.length === limit ? runs.at(-1)!.id : null };
    },
  );

  app.get<{ Params: { runId: string } }>(
    '/runs/:runId',
    {
      config: { auth: 'view' },
      schema: {
        summary: 'One run with its tasks and their states',
        tags: ['runs'],
        security: bearer,
        params: idParam('runId'),
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            properties: { run: runSchema, tasks: { type: 'array', items: taskSchema } },
          },
          ...authErrors,
        },
      },
    },
    async (req) => getRunFor(gate, gateContext(req), req.params.runId),
  );

  app.post<{ Params: { runId: string }; Body: { reason?: string } | undefined }>(
    '/runs/:runId/cancel',
    {
      config: { auth: 'cancel' },
      schema: {
        summary: 'Cancel a run (Cedar cancel); the decision is recorded before the engine acts',
        tags: ['runs'],
        security: bearer,
        params: idParam('runId'),
        body: {
          type: 'object',
          properties: { reason: { type: 'string', maxLength: 2_000 } },
          additionalProperties: false,
        },
        response: {
          200: { type: 'object', additionalProperties: false, properties: { run: runSchema } },
          ...authErrors,
        },
      },
    },
    async (req) => {
      const run = await cancelRunFor(gate, gateContext(req), req.params.runId, req.body?.reason);
      deps.metrics.decision('cancel', 'allow');
      return { run };
    },
  );

  await logsRoute(app, deps);
}
