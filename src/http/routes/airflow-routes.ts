/**
 * The Airflow bridge's own actions over HTTP, each through the gate: pause and unpause an Airflow
 * DAG (Cedar `pause` / `unpause`), and clear a failed task of a remote run (Cedar `clearTask`).
 * Registered only when an environment is backed by Airflow.
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { clearTaskFor, setPausedFor } from '../../airflow/airflow-actions.ts';
import { AirclutchError } from '../../lib/errors.ts';
import type { ApiDeps } from '../api-deps.ts';
import { approvalSchema, authErrors, bearer, ID_PATTERN } from '../api-schemas.ts';
import { gateContext } from '../gate-context.ts';

const pauseResult = {
  type: 'object',
  properties: {
    outcome: { type: 'string', enum: ['done', 'awaiting_approval'] },
    env: { type: 'string' },
    dagId: { type: 'string' },
    paused: { type: 'boolean' },
  },
  required: ['outcome', 'env', 'dagId', 'paused'],
} as const;

/** An unpause that needs approval: 202 with the approval request, like a trigger. */
const awaitingResult = {
  type: 'object',
  properties: { ...pauseResult.properties, approval: approvalSchema },
  required: [...pauseResult.required, 'approval'],
} as const;

export async function airflowRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const bridge = () => {
    const b = deps.ac.airflow;
    if (!b) throw new AirclutchError('NOT_FOUND', 'no environment is backed by Airflow');
    return b.deps;
  };
  for (const [verb, paused] of [
    ['pause', true],
    ['unpause', false],
  ] as const) {
    app.post<{ Params: { dagId: string }; Body: { env?: string; reason?: string } | undefined }>(
      `/dags/:dagId/${verb}`,
      {
        // Pausing stops a schedule (like cancel); unpausing starts one (like trigger): their scopes.
        config: { auth: paused ? 'cancel' : 'trigger' },
        schema: {
          summary: `${paused ? 'Pause' : 'Unpause'} an Airflow DAG (Cedar ${verb}); recorded before Airflow is asked`,
          tags: ['airflow'],
          security: bearer,
          params: {
            type: 'object',
            properties: { dagId: { type: 'string', pattern: ID_PATTERN } },
            required: ['dagId'],
          },
          body: {
            type: 'object',
            properties: {
              env: { type: 'string', pattern: ID_PATTERN },
              reason: {
                type: 'string',
                maxLength: 2_000,
                description: 'why: kept in the audit trail, and shown to approvers when it needs approval',
              },
            },
            additionalProperties: false,
          },
          response: { 200: pauseResult, 202: awaitingResult, ...authErrors },
        },
      },
      async (req, reply) => {
        const env = req.body?.env ?? deps.ac.config.defaultEnv;
        const result = await setPausedFor(bridge(), gateContext(req), env, req.params.dagId, paused, {
          reason: req.body?.reason,
        });
        if (result.outcome === 'awaiting_approval') {
          deps.metrics.decision(verb, 'needs_approval');
          return reply.code(202).send(result);
        }
        deps.metrics.decision(verb, 'allow');
        return result;
      },
    );
  }
  app.post<{ Params: { runId: string; taskId: string } }>(
    '/runs/:runId/tasks/:taskId/clear',
    {
      config: { auth: 'trigger' },
      schema: {
        summary: 'Clear a failed task of a remote run so Airflow runs it again (Cedar clearTask)',
        tags: ['airflow'],
        security: bearer,
        params: {
          type: 'object',
          properties: {
            runId: { type: 'string', pattern: ID_PATTERN },
            taskId: { type: 'string', pattern: ID_PATTERN },
          },
          required: ['runId', 'taskId'],
        },
        response: {
          200: {
            type: 'object',
            properties: { runId: { type: 'string' }, cleared: { type: 'array', items: { type: 'string' } } },
            required: ['runId', 'cleared'],
          },
          ...authErrors,
        },
      },
    },
    async (req) => {
      const result = await clearTaskFor(bridge(), gateContext(req), req.params.runId, req.params.taskId);
      deps.metrics.decision('clearTask', 'allow');
      return result;
    },
  );
}
