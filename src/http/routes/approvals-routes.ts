/** `/api/v1/approvals`: what the caller can vote on, its own requests, and votes through the gate. @module */
import type { FastifyInstance } from 'fastify';
import type { Vote } from '../../approvals/approval-store.ts';
import { listApprovalsFor } from '../../gate/list-approvals-for.ts';
import { voteOnApproval } from '../../gate/vote.ts';
import type { ApiDeps } from '../api-deps.ts';
import { approvalSchema, authErrors, bearer, idParam } from '../api-schemas.ts';
import { gateContext } from '../gate-context.ts';

const VOTES: ReadonlyArray<{ path: string; vote: Vote; summary: string }> = [
  { path: 'approve', vote: 'approve', summary: 'Approve: counts towards the quorum (Cedar approve)' },
  { path: 'deny', vote: 'deny', summary: 'Deny: one denial by an eligible approver ends the request' },
  { path: 'review', vote: 'review', summary: 'Review a break-glass run after the fact' },
];

export async function approvalsRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { gate } = deps.ac;

  app.get<{ Querystring: { limit?: number } }>(
    '/approvals',
    {
      config: { auth: 'view' },
      schema: {
        summary: 'Pending approvals the caller can act on, and the caller’s own requests',
        tags: ['approvals'],
        security: bearer,
        querystring: {
          type: 'object',
          properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
          additionalProperties: false,
        },
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            properties: {
              actionable: { type: 'array', items: approvalSchema },
              mine: { type: 'array', items: approvalSchema },
            },
          },
          ...authErrors,
        },
      },
    },
    async (req) => listApprovalsFor(gate, gateContext(req), { limit: req.query.limit ?? 50 }),
  );

  for (const v of VOTES) {
    app.post<{ Params: { id: string }; Body: { comment?: string } | undefined }>(
      `/approvals/:id/${v.path}`,
      {
        config: { auth: 'approve' },
        schema: {
          summary: v.summary,
          tags: ['approvals'],
          security: bearer,
          params: idParam('id'),
          body: {
            type: 'object',
            // paramsHash/dagVersion: what the web UI shows the voter; the approvals work binds votes to them.
            properties: {
              comment: { type: 'string', maxLength: 2_000 },
              paramsHash: { type: 'string', maxLength: 200 },
              dagVersion: { type: 'string', maxLength: 200 },
            },
            additionalProperties: false,
          },
          response: {
            200: {
              type: 'object',
              additionalProperties: false,
              properties: {
                approval: approvalSchema,
                approvals: { type: 'integer' },
                quorum: { type: 'integer' },
                runState: { type: 'string' },
              },
            },
            ...authErrors,
          },
        },
      },
      async (req) => {
        const outcome = await voteOnApproval(
          gate,
          gateContext(req),
          req.params.id,
          v.vote,
          req.body?.comment,
        );
        deps.metrics.decision(v.vote, outcome.approval.state);
        return outcome;
      },
    );
  }
}
