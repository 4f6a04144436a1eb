/**
 * CORS for an explicit list of origins. Off by default: with no origins configured no CORS header is
 * ever sent, so browsers keep other sites from calling the API with a user's session.
 * @module
 */
import type { FastifyInstance } from 'fastify';

/**
 * @example
 * if (config.server.corsOrigins.length) allowOrigins(app, config.server.corsOrigins);
 */
export function allowOrigins(app: FastifyInstance, origins: readonly string[]): void {
  const allowed = new Set(origins);
  app.addHook('onRequest', async (req, reply) => {
    const origin = req.headers.origin;
    if (!origin || !allowed.has(origin)) return;
    reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
      reply
        .header('access-control-allow-methods', 'GET, POST')
        .header('access-control-allow-headers', 'authorization, content-type, x-request-id, x-csrf-token')
        .header('access-control-max-age', '600')
        .code(204)
        .send();
    }
  });
}
