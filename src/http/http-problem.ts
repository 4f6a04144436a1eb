/**
 * Turns anything a route throws into one `AirclutchError`, so the one error handler answers every
 * failure as `application/problem+json` with a stable code, the request id, and never a stack trace.
 * @module
 */
import { AirclutchError, isAirclutchError } from '../lib/errors.ts';

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  message?: string;
  validation?: ReadonlyArray<{ instancePath?: string; params?: Record<string, unknown>; message?: string }>;
  validationContext?: string;
}

/**
 * The domain error for a thrown value: domain errors pass through, Fastify's own request errors
 * (validation, body size, content type, bad JSON) become `REQUEST_INVALID` / `PAYLOAD_TOO_LARGE`,
 * and anything else is `INTERNAL` with a message that reveals nothing of the cause.
 *
 * @example
 * const err = toHttpError(e); reply.code(err.status).send(err.toProblem());
 */
export function toHttpError(e: unknown): AirclutchError {
  if (isAirclutchError(e)) return e;
  const f = (e ?? {}) as FastifyLikeError;
  if (f.validation) return validationError(f);
  if (f.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new AirclutchError('PAYLOAD_TOO_LARGE', 'the request body is larger than this server accepts');
  }
  if (f.statusCode === 404) return new AirclutchError('NOT_FOUND', f.message ?? 'not found');
  if (f.statusCode === 429) return new AirclutchError('RATE_LIMITED', f.message ?? 'too many requests');
  if (typeof f.statusCode === 'number' && f.statusCode >= 400 && f.statusCode < 500) {
    return new AirclutchError('REQUEST_INVALID', requestMessage(f));
  }
  return new AirclutchError('INTERNAL', 'the server failed unexpectedly; the request id is in the logs', {
    cause: e,
  });
}

function validationError(f: FastifyLikeError): AirclutchError {
  const where = f.validationContext ?? 'request';
  const issues = (f.validation ?? []).map((v) => {
    const missing = v.params?.missingProperty;
    const extra = v.params?.additionalProperty;
    const path = [where, ...(v.instancePath ?? '').split('/').filter(Boolean)];
    if (typeof missing === 'string') path.push(missing);
    if (typeof extra === 'string') path.push(extra);
    const message = typeof extra === 'string' ? 'is not a known field' : (v.message ?? 'is invalid');
    return { path: path.join('.'), message };
  });
  const text = issues.map((i) => `${i.path} ${i.message}`).join('; ');
  return new AirclutchError('REQUEST_INVALID', `invalid request: ${text}`, { details: { issues } });
}

function requestMessage(f: FastifyLikeError): string {
  switch (f.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'unsupported Content-Type: send application/json';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'the body is empty but Content-Type is application/json: send a JSON object, or no Content-Type';
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      // Fastify's parser drops the cause: a syntax error, or a key that could poison prototypes.
      return 'the body is not valid JSON, or has a __proto__ or constructor.prototype key (refused)';
    default:
      // Fastify's request-level messages describe the request, not the server; keep them short.
      return `invalid request: ${(f.message ?? 'malformed').slice(0, 200)}`;
  }
}
