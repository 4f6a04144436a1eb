/**
 * `/api/v1/audit`: query, verify and export the trail. Who may read which records is the Cedar
 * `readAudit` policy: a query returns only the records the caller may read; verify and export
 * cover the whole chain, so they need `readAudit` on every environment.
 * @module
 */
import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { signCheckpoint } from '../../audit/audit-checkpoint.ts';
import { loadCheckpointPrivateKey, loadHmacKey } from '../../audit/audit-keys.ts';
import { exportAudit } from '../../audit/export-audit.ts';
import { verifyChain } from '../../audit/verify-chain.ts';
import {
  auditReadNotice,
  authorizeWholeTrail as authorizeWholeTrailFor,
  queryAuditFor,
} from '../../gate/audit-reads.ts';
import type { GateContext } from '../../gate/gate-types.ts';
import { AirclutchError } from '../../lib/errors.ts';
import { absoluteTime } from '../../lib/parse-time-bound.ts';
import type { ApiDeps } from '../api-deps.ts';
import { auditRecordSchema, authErrors, bearer, ID_PATTERN } from '../api-schemas.ts';
import { gateContext } from '../gate-context.ts';

const TIME = {
  type: 'string',
  maxLength: 40,
  description: 'epoch ms or an ISO 8601 time',
} as const;

interface AuditQuery {
  actor?: string;
  env?: string;
  dag?: string;
  run?: string;
  action?: string;
  effect?: string;
  since?: string;
  until?: string;
  after?: number;
  limit?: number;
  param?: string;
}

const auditQuery = {
  type: 'object',
  properties: {
    actor: {
      type: 'string',
      maxLength: 320,
      description: 'the actor id, its subject, or kind:id as records list it (user:ana@example.com)',
    },
    env: { type: 'string', pattern: ID_PATTERN },
    dag: { type: 'string', pattern: ID_PATTERN },
    run: { type: 'string', pattern: ID_PATTERN },
    action: { type: 'string', maxLength: 64 },
    effect: { type: 'string', enum: ['allow', 'deny', 'needs_approval'] },
    since: TIME,
    until: TIME,
    after: { type: 'integer', minimum: 0, description: 'paging: records after this seq' },
    limit: { type: 'integer', minimum: 1, maximum: 10_000, default: 100 },
    param: {
      type: 'string',
      maxLength: 2_000,
      pattern: '^[^=]+=',
      description:
        'name=value: records whose params hold this value (sensitive ones match through their HMAC)',
    },
  },
  additionalProperties: false,
} as const;

/** `VerifyResult` (src/audit/audit-types.ts). */
const verifySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ok: { type: 'boolean' },
    records: { type: 'integer' },
    lastSeq: { type: 'integer' },
    lastHash: { type: 'string' },
    firstBadSeq: { type: 'integer' },
    reason: { type: 'string' },
    checkpointsVerified: { type: 'integer' },
  },
} as const;

export async function auditRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { gate, db } = deps.ac;

  // Who may read what is decided in the gate, as for the CLI: src/gate/audit-reads.ts.
  async function authorizeWholeTrail(req: FastifyRequest): Promise<GateContext> {
    const ctx = gateContext(req);
    await authorizeWholeTrailFor(gate, ctx);
    return ctx;
  }

  app.get<{ Querystring: AuditQuery }>(
    '/audit',
    {
      config: { auth: 'readAudit' },
      schema: {
        summary: 'Audit records the caller may read (Cedar readAudit), oldest first, with filters',
        tags: ['audit'],
        security: bearer,
        querystring: auditQuery,
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            properties: {
              records: { type: 'array', items: auditRecordSchema },
              nextAfter: { type: ['integer', 'null'] },
              notice: {
                type: 'string',
                description:
                  'on an empty first page (not filtered by run): the caller may read no records at all (readAudit is denied everywhere), and what would allow it',
              },
            },
          },
          ...authErrors,
        },
      },
    },
    async (req) => {
      const ctx = gateContext(req);
      const q = req.query;
      const page = await queryAuditFor(gate, ctx, {
        actor: q.actor,
        env: q.env,
        dagId: q.dag,
        runId: q.run,
        action: q.action,
        effect: q.effect,
        since: time(q.since, 'since'),
        until: time(q.until, 'until'),
        afterSeq: q.after,
        limit: q.limit ?? 100,
        ...(q.param ? { param: splitParam(q.param), hmacKey: loadHmacKey(deps.ac.config) } : {}),
      });
      // Not for one run's records: the UI asks for them on every run page, whoever looks.
      const quiet = page.records.length > 0 || q.after !== undefined || q.run !== undefined;
      const notice = quiet ? undefined : auditReadNotice(gate, ctx, q.dag);
      return { records: page.records, nextAfter: page.nextAfterSeq ?? null, ...(notice ? { notice } : {}) };
    },
  );

  app.get(
    '/audit/verify',
    {
      config: { auth: 'readAudit' },
      schema: {
        summary: 'Verify the hash chain: the first bad sequence number, if any',
        tags: ['audit'],
        security: bearer,
        response: { 200: verifySchema, ...authErrors },
      },
    },
    async (req) => {
      await authorizeWholeTrail(req);
      return verifyChain(db);
    },
  );

  app.get<{ Querystring: { format?: 'jsonl' | 'csv'; since?: string; until?: string } }>(
    '/audit/export',
    {
      config: { auth: 'readAudit' },
      schema: {
        summary: 'Export a time window as JSON Lines (verifiable offline) or CSV',
        tags: ['audit'],
        security: bearer,
        querystring: {
          type: 'object',
          properties: {
            format: { type: 'string', enum: ['jsonl', 'csv'], default: 'jsonl' },
            since: TIME,
            until: TIME,
          },
          additionalProperties: false,
        },
        response: { 200: { type: 'string', description: 'application/x-ndjson or text/csv' }, ...authErrors },
      },
    },
    async (req, reply) => {
      await authorizeWholeTrail(req);
      const format = req.query.format ?? 'jsonl';
      const since = time(req.query.since, 'since');
      const until = time(req.query.until, 'until');
      const out = new PassThrough();
      // Signed like `airclutch audit export` always was, so that the file verifies offline.
      const key = loadCheckpointPrivateKey(deps.ac.config);
      const checkpoint = key
        ? (at: { seq: number; hash: string }) => signCheckpoint(key, { ...at, ts: Date.now() })
        : undefined;
      exportAudit(db, out, { format, since, until, checkpoint }).then(
        () => out.end(),
        (e) => out.destroy(e),
      );
      return reply
        .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson')
        .header('content-disposition', `attachment; filename="airclutch-audit.${format}"`)
        .send(out);
    },
  );
}

function splitParam(value: string): { name: string; value: string } {
  const eq = value.indexOf('=');
  return { name: value.slice(0, eq), value: value.slice(eq + 1) };
}

function time(value: string | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = absoluteTime(value);
  if (!Number.isFinite(ms)) {
    throw new AirclutchError(
      'REQUEST_INVALID',
      `invalid request: querystring.${field} must be epoch ms or an ISO 8601 time, got ${JSON.stringify(value.slice(0, 40))}`,
    );
  }
  return ms;
}
