/** `/healthz`, `/readyz`, `/metrics`, `/openapi.json` and `/docs`: outside `/api/v1`, no token needed. @module */

import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { AirclutchError } from '../../lib/errors.ts';
import type { ApiDeps } from '../api-deps.ts';
import { problemRef } from '../api-schemas.ts';
import { docsPage } from '../docs-page.ts';

const noLimit = { rateLimit: false } as const;

export async function systemRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { ac, metrics } = deps;

  app.get(
    '/healthz',
    {
      config: noLimit,
      schema: {
        summary: 'The process is up',
        tags: ['system'],
        response: {
          200: { type: 'object', additionalProperties: false, properties: { status: { type: 'string' } } },
        },
      },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      config: noLimit,
      schema: {
        summary: 'The store answers and a policy set is loaded',
        tags: ['system'],
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            properties: {
              status: { type: 'string' },
              policies: { type: 'integer', description: 'how many Cedar policies are loaded' },
              policyGeneration: {
                type: 'integer',
                description: 'the loaded policy set generation: 1 at start, +1 on each successful reload',
              },
              dags: { type: 'integer', description: 'loaded DAGs, over all environments' },
            },
          },
          503: { ...problemRef, description: 'STORE_UNAVAILABLE' },
        },
      },
    },
    async () => {
      try {
        await sql`select 1`.execute(ac.db.kysely);
      } catch (e) {
        throw new AirclutchError(
          'STORE_UNAVAILABLE',
          `the store does not answer: check ${ac.db.description}`,
          {
            cause: e,
          },
        );
      }
      const policies = ac.policies.current();
      if (!policies) {
        throw new AirclutchError(
          'STORE_UNAVAILABLE',
          'no policy set is loaded yet: fix the policy errors in the log',
        );
      }
      return {
        status: 'ready',
        policies: policies.policies.size,
        policyGeneration: policies.generation,
        dags: ac.registry.list().length,
      };
    },
  );

  app.get(
    '/metrics',
    { config: noLimit, schema: { summary: 'Prometheus metrics', tags: ['system'], hide: true } },
    async (_req, reply) => reply.type(metrics.contentType).send(await metrics.text()),
  );

  app.get('/openapi.json', { config: noLimit, schema: { hide: true } }, async () => app.swagger());

  app.get('/docs', { config: noLimit, schema: { hide: true } }, async (_req, reply) =>
    reply.type('text/html; charset=utf-8').send(docsPage(app.swagger() as Record<string, any>)),
  );
}
