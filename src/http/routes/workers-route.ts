/**
 * `GET /api/v1/workers`: the fleet's workers seen in the last five minutes, with their queues and
 * load. Hosts and pids are operational detail, so the caller needs what reading the whole audit
 * trail needs (`readAudit` on every environment); a refusal is recorded.
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { FORGOTTEN_AFTER_MS } from '../../engine/fleet/worker-heartbeat.ts';
import { authorizeWholeTrail } from '../../gate/audit-reads.ts';
import type { ApiDeps } from '../api-deps.ts';
import { authErrors, bearer } from '../api-schemas.ts';
import { gateContext } from '../gate-context.ts';

/** A worker is live while its heartbeat (a third of its attempt lease) is this recent. */
const LIVE_MS = 60_000;

const workerSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'id',
    'host',
    'pid',
    'queues',
    'concurrency',
    'running',
    'startedAt',
    'lastSeenAt',
    'draining',
    'live',
  ],
  properties: {
    id: { type: 'string' },
    host: { type: 'string' },
    pid: { type: 'integer' },
    queues: { type: 'array', items: { type: 'string' } },
    concurrency: { type: 'integer' },
    running: { type: 'integer', description: 'attempts it ran at its last heartbeat' },
    startedAt: { type: 'integer', description: 'epoch ms' },
    lastSeenAt: { type: 'integer', description: 'epoch ms of its last heartbeat' },
    draining: { type: 'boolean', description: 'it got SIGTERM: it claims nothing new' },
    live: { type: 'boolean', description: `its last heartbeat is under ${LIVE_MS / 1000} s old` },
  },
} as const;

export async function workersRoute(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { ac } = deps;
  app.get(
    '/workers',
    {
      config: { auth: 'readAudit' },
      schema: {
        summary: 'Fleet workers seen in the last five minutes: queues, concurrency, running attempts',
        tags: ['system'],
        security: bearer,
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['workers'],
            properties: { workers: { type: 'array', items: workerSchema } },
          },
          ...authErrors,
        },
      },
    },
    async (req) => {
      await authorizeWholeTrail(ac.gate, gateContext(req));
      const now = ac.gate.now();
      const rows = await ac.db.kysely
        .selectFrom('workers')
        .selectAll()
        .where('last_seen_at', '>', now - FORGOTTEN_AFTER_MS)
        .orderBy('started_at')
        .execute();
      return {
        workers: rows.map((r) => ({
          id: r.id,
          host: r.host,
          pid: r.pid,
          queues: JSON.parse(r.queues) as string[],
          concurrency: r.concurrency,
          running: r.running,
          startedAt: Number(r.started_at),
          lastSeenAt: Number(r.last_seen_at),
          draining: r.draining === 1,
          live: Number(r.last_seen_at) > now - LIVE_MS,
        })),
      };
    },
  );
}
