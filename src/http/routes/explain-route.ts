/**
 * `POST /api/v1/authorize/explain`: a what-if decision on a DAG. Anyone may ask about themselves;
 * asking as someone else (`as`) reveals who may do what, so it needs `readAudit` on the environment.
 * @module
 */
import type { FastifyInstance } from 'fastify';
import { approversFor, authorize, explainFor } from '../../gate/gate-reads.ts';
import type { Principal } from '../../identity/principal.ts';
import { ACTION_RESOURCES, ACTIONS, type PolicyAction } from '../../policy/cedar-names.ts';
import type { Approver } from '../../policy/policy-engine.ts';
import type { ApiDeps } from '../api-deps.ts';
import { authErrors, bearer, ID_PATTERN } from '../api-schemas.ts';
import { gateContext } from '../gate-context.ts';

const DAG_ACTIONS = ACTIONS.filter((a) => ACTION_RESOURCES[a].includes('dag'));

interface ExplainBody {
  action: PolicyAction;
  dagId: string;
  env?: string;
  params?: Record<string, unknown>;
  as?: { kind?: 'user' | 'service'; id: string; groups?: string[] };
}

const strings = { type: 'array', items: { type: 'string' } } as const;

const explanationSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    effect: { type: 'string', enum: ['allow', 'deny'] },
    policies: strings,
    reasons: strings,
    errors: strings,
    determining: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          id: { type: 'string' },
          effect: { type: 'string', enum: ['permit', 'forbid'] },
          text: { type: 'string' },
          annotations: { type: 'object', additionalProperties: { type: 'string' } },
        },
      },
    },
    wouldAllow: strings,
    outcome: {
      type: 'string',
      enum: ['allow', 'approval', 'deny'],
      description: 'for action trigger: starts now, needs approval (requestTrigger allowed), or refused',
    },
    quorum: { type: 'integer', description: 'for outcome approval: the approvals the run needs' },
    approvers: {
      type: 'array',
      description:
        'for outcome approval: who policy lets approve the request (the groups, people or services its approve permits name)',
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          kind: { type: 'string', enum: ['group', 'user', 'service', 'anyone'] },
          id: { type: ['string', 'null'] },
        },
      },
    },
  },
} as const;

export async function explainRoute(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { gate } = deps.ac;
  app.post<{ Body: ExplainBody }>(
    '/authorize/explain',
    {
      config: { auth: 'view' },
      schema: {
        summary: 'What-if: the decision, the determining policies, and what would allow a deny',
        tags: ['policy'],
        security: bearer,
        body: {
          type: 'object',
          properties: {
            action: { type: 'string', enum: DAG_ACTIONS },
            dagId: { type: 'string', pattern: ID_PATTERN },
            env: { type: 'string', pattern: ID_PATTERN },
            params: { type: 'object', additionalProperties: true },
            as: {
              type: 'object',
              description: 'ask as another principal (needs readAudit on the environment)',
              properties: {
                kind: { type: 'string', enum: ['user', 'service'], default: 'user' },
                id: { type: 'string', minLength: 1, maxLength: 320 },
                groups: { type: 'array', items: { type: 'string', maxLength: 200 }, maxItems: 100 },
              },
              required: ['id'],
              additionalProperties: false,
            },
          },
          required: ['action', 'dagId'],
          additionalProperties: false,
        },
        response: { 200: explanationSchema, ...authErrors },
      },
    },
    async (req) => {
      const ctx = gateContext(req);
      const b = req.body;
      const env = gate.envOf(b.env);
      let as: Principal | undefined;
      if (b.as) {
        await authorize(gate, ctx, 'readAudit', { kind: 'env', env });
        as = {
          kind: b.as.kind ?? 'user',
          id: b.as.id,
          groups: b.as.groups ?? [],
          issuer: 'what-if',
          subject: b.as.id,
          token: { scopes: [], amr: [] },
        };
      }
      const input = { env, dagId: b.dagId, params: b.params ?? {}, ...(as ? { as } : {}) };
      const e = await explainFor(gate, ctx, { ...input, action: b.action });
      // A trigger or unpause that is not allowed may still be asked for (requestTrigger,
      // requestUnpause): it then needs approval.
      let trigger:
        | { outcome: 'allow' | 'approval' | 'deny'; quorum?: number; approvers?: Approver[] }
        | undefined;
      const asking = REQUEST_ACTION[b.action];
      if (asking) {
        if (e.decision.effect === 'allow') trigger = { outcome: 'allow' };
        else {
          const request = await explainFor(gate, ctx, { ...input, action: asking });
          trigger =
            request.decision.effect === 'allow'
              ? {
                  outcome: 'approval',
                  quorum: quorumOf(deps, env, b.dagId),
                  approvers: await approversFor(gate, ctx, input),
                }
              : { outcome: 'deny' };
        }
      }
      return {
        ...trigger,
        effect: e.decision.effect,
        policies: e.decision.policies,
        reasons: e.decision.reasons,
        errors: e.decision.errors,
        determining: e.determining,
        wouldAllow: e.wouldAllow,
      };
    },
  );
}

/** The actions that have a needs-approval outcome, and the action that asks for approval. */
const REQUEST_ACTION: Partial<Record<string, PolicyAction>> = {
  trigger: 'requestTrigger',
  unpause: 'requestUnpause',
};

/** The approvals this DAG's requests need: the gate's rule (the DAG's, else the environment's, else 1). */
function quorumOf(deps: ApiDeps, env: string, dagId: string): number {
  const found = deps.ac.gate.dags.find(env, dagId);
  return found ? deps.ac.gate.approvalRule(env, found).quorum : 1;
}
