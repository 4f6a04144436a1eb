/** `/api/v1/approvals`: what the caller can vote on, its own requests, and votes through the gate. @module */
import type { FastifyInstance } from 'fastify';
import type { Vote } from '../../approvals/approval-store.ts';
import { approvalForVoter } from '../../gate/approval-for-voter.ts';
import { listApprovalsFor } from '../../gate/list-approvals-for.ts';
import type { VoteInput } from '../../gate/vote.ts';
import { voteOnApproval } from '../../gate/vote.ts';
import type { ApiDeps } from '../api-deps.ts';
import {
  approvalSchema,
  authErrors,
  bearer,
  idParam,
  runSchema,
  voterStandingSchema,
} from '../api-schemas.ts';
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

  app.get<{ Params: { id: string } }>(
    '/approvals/:id',
    {
      config: { auth: 'view' },
      schema: {
        summary:
          'One approval request and its run, as a voter is shown it before voting (send back its params_hash and dag_version), with whether the caller may vote on it now and why not. Shown to who may approve it, or view its run (for a DAG action, its DAG)',
        tags: ['approvals'],
        security: bearer,
        params: idParam('id'),
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            properties: {
              approval: approvalSchema,
              run: { ...runSchema, type: ['object', 'null'] },
              policies: {
                type: 'array',
                items: { type: 'string' },
                description: 'the policies that made the request need approval (from its decision record)',
              },
              note: {
                type: ['string', 'null'],
                description: "what the requester said: the run's note, or a DAG action's reason",
              },
              canVote: voterStandingSchema,
            },
          },
          ...authErrors,
        },
      },
    },
    async (req) => approvalForVoter(gate, gateContext(req), req.params.id),
  );

  for (const v of VOTES) {
    app.post<{ Params: { id: string }; Body: VoteInput | undefined }>(
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
            properties: {
              comment: { type: 'string', maxLength: 2_000 },
              paramsHash: {
                type: 'string',
                maxLength: 200,
                description: `the approval request's params_hash, as the voter was shown it${v.vote === 'approve' ? ' (required)' : ''}`,
              },
              dagVersion: {
                type: 'string',
                maxLength: 200,
                description: `the approval request's dag_version, as the voter was shown it${v.vote === 'approve' ? ' (required)' : ''}`,
              },
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
        const { comment, paramsHash, dagVersion } = req.body ?? {};
        const outcome = await voteOnApproval(gate, gateContext(req), req.params.id, v.vote, {
          comment,
          paramsHash,
          dagVersion,
        });
        deps.metrics.decision(v.vote, outcome.approval.state);
        return outcome;
      },
    );
  }
}
