/** The gate context of an HTTP request: its verified caller, its source and its request id. @module */
import type { FastifyRequest } from 'fastify';
import type { GateContext } from '../gate/gate-types.ts';
import { AirclutchError } from '../lib/errors.ts';

/**
 * Bearer calls are `api`, or `cli` when the `airclutch` CLI sends them (its user agent says so: a
 * label for the audit trail, never a grant); calls riding on a browser session are `ui`. The request id is the one
 * echoed in `x-request-id`, so the response, the logs and the audit record share it.
 *
 * @example
 * const result = await ac.gate.trigger(gateContext(req), { dagId, params });
 */
export function gateContext(req: FastifyRequest): GateContext {
  if (!req.principal) {
    // A route that calls the gate without declaring `config.auth` is a bug in this module.
    throw new AirclutchError('INTERNAL', 'route reached the gate without an authenticated caller');
  }
  const source =
    req.headers.authorization === undefined && req.session
      ? 'ui'
      : (req.headers['user-agent'] ?? '').startsWith('airclutch-cli/')
        ? 'cli'
        : 'api';
  return { principal: req.principal, source, requestId: req.id };
}
