/**
 * `POST /api/v1/dags/{dagId}/backfill`: one run per schedule tick in a range, each decided by Cedar
 * for the caller and audited, ticks that already ran skipped. What `airclutch backfill` calls.
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { backfillRange } from '../../engine/backfill-bounds.ts';
import { DEFAULT_MAX_BACKFILL_TICKS } from '../../engine/backfill-ticks.ts';
import { Scheduler } from '../../engine/scheduler.ts';
import { revealDag } from '../../gate/dag-visibility.ts';
import type { ApiDeps } from '../api-deps.ts';
import { authErrors, bearer, ID_PATTERN, idParam } from '../api-schemas.ts';
import { gateContext } from '../gate-context.ts';

interface BackfillBody {
  from: string;
  to: string;
  env?: string;
  params?: Record<string, unknown>;
  maxTicks?: number;
}

export async function backfillRoute(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { gate } = deps.ac;
  app.post<{ Params: { dagId: string }; Body: BackfillBody }>(
    '/dags/:dagId/backfill',
    {
      config: { auth: 'trigger' },
      schema: {
        summary:
          'A run for every schedule tick between two dates (inclusive days in the DAG time zone, or ISO times), each decided by policy for the caller',
        tags: ['runs'],
        security: bearer,
        params: idParam('dagId'),
        body: {
          type: 'object',
          required: ['from', 'to'],
          properties: {
            from: { type: 'string', maxLength: 64, description: 'first day (inclusive) or ISO 8601 time' },
            to: { type: 'string', maxLength: 64, description: 'last day (inclusive) or ISO 8601 time' },
            env: { type: 'string', pattern: ID_PATTERN },
            params: { type: 'object', additionalProperties: true, description: 'params for every run' },
            maxTicks: {
              type: 'integer',
              minimum: 1,
              description: `refuse a larger range before creating any run (default ${DEFAULT_MAX_BACKFILL_TICKS})`,
            },
          },
          additionalProperties: false,
        },
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            properties: {
              ticks: {
                type: 'array',
                items: {
                  type: 'object',
                  additionalProperties: false,
                  properties: {
                    logical_date: { type: 'integer', description: 'the tick, epoch ms' },
                    run_id: { type: ['string', 'null'], description: 'null when no run was created' },
                    outcome: { type: 'string' },
                  },
                },
              },
            },
          },
          ...authErrors,
        },
      },
    },
    async (req) => {
      const ctx = gateContext(req);
      const env = gate.envOf(req.body.env);
      const { dag } = await revealDag(gate, ctx, 'trigger', env, req.params.dagId);
      const { from, to } = backfillRange(req.body.from, req.body.to, dag.options.timezone);
      const scheduler = new Scheduler({
        db: deps.ac.db,
        submitter: () => gate.submitterAs(ctx),
        listDags: () => deps.ac.registry.list(),
      });
      const ticks = await scheduler.backfill(
        env,
        req.params.dagId,
        from,
        to,
        req.body.params ?? {},
        ctx.principal,
        {
          maxTicks: req.body.maxTicks ?? DEFAULT_MAX_BACKFILL_TICKS,
        },
      );
      return {
        ticks: ticks.map((t) => ({ logical_date: t.logicalDate, run_id: t.runId, outcome: t.outcome })),
      };
    },
  );
}
