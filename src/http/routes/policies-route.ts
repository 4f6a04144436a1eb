/**
 * `GET /api/v1/policies`: the Cedar policies loaded for an environment, each with its source
 * (`file:line`) and text, and the problems of the last load (which left the previous set active).
 * Policies say who may do what, so reading them needs `readAudit` on the environment, as explaining
 * for someone else does.
 * @module
 */
import { normalize } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { authorize } from '../../gate/gate-reads.ts';
import type { ApiDeps } from '../api-deps.ts';
import { authErrors, bearer, envQuery } from '../api-schemas.ts';
import { gateContext } from '../gate-context.ts';

const str = { type: 'string' } as const;

const policiesSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    env: str,
    generation: { type: 'integer', description: 'the active policy set; 0 when none ever loaded' },
    loadedAt: { type: ['integer', 'null'], description: 'epoch ms' },
    policies: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          id: { type: 'string', description: 'its source: file:line, relative to the project root' },
          effect: { type: 'string', enum: ['permit', 'forbid'] },
          text: str,
          annotations: { type: 'object', additionalProperties: { type: 'string' } },
          dagId: { type: ['string', 'null'], description: 'set for a policy that only one DAG carries' },
        },
      },
    },
    problems: {
      type: 'array',
      description: 'why the last load failed (the set above stayed active); empty when it loaded',
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          file: str,
          line: { type: 'integer' },
          column: { type: 'integer' },
          message: str,
          help: { type: ['string', 'null'] },
        },
      },
    },
  },
} as const;

export async function policiesRoute(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { gate } = deps.ac;
  app.get<{ Querystring: { env?: string } }>(
    '/policies',
    {
      config: { auth: 'view' },
      schema: {
        summary: "The policies loaded for an environment, with their source, and the last load's problems",
        tags: ['policy'],
        security: bearer,
        querystring: envQuery,
        response: { 200: policiesSchema, ...authErrors },
      },
    },
    async (req) => {
      const env = gate.envOf(req.query.env);
      await authorize(gate, gateContext(req), 'readAudit', { kind: 'env', env });
      const store = deps.ac.policies;
      const cfg = deps.ac.config.environments[env];
      const folders = [...(cfg?.policies ?? []), ...(cfg?.dags ?? [])];
      const active = store.current();
      const owner = new Map<string, string | null>();
      for (const [key, scope] of active?.scopes ?? []) {
        if (key !== env && !key.startsWith(`${env}/`)) continue;
        for (const id of scope.policyIds) {
          // A policy of the environment's folders is in every DAG's scope too: it belongs to the env.
          const dagId = key === env ? null : key.slice(env.length + 1);
          if (!owner.has(id) || dagId === null) owner.set(id, dagId);
        }
      }
      const envWide = new Set(active?.scopes.get(env)?.policyIds ?? []);
      const policies = [...owner.keys()].map((id) => {
        const p = active!.policies.get(id)!;
        return {
          id,
          effect: p.effect,
          text: p.text,
          annotations: { ...p.annotations },
          dagId: envWide.has(id) ? null : (owner.get(id) ?? null),
        };
      });
      return {
        env,
        generation: active?.generation ?? 0,
        loadedAt: active?.loadedAt ?? null,
        policies,
        // Only problems in this environment's folders: another environment's files are not theirs to read.
        problems: store
          .problems()
          .filter((p) => inFolders(p.file, folders))
          .map((p) => ({
            file: p.file,
            line: p.line,
            column: p.column,
            message: p.message,
            help: p.help ?? null,
          })),
      };
    },
  );
}

function inFolders(file: string, folders: readonly string[]): boolean {
  const f = normalize(file);
  return folders.some((dir) => {
    const d = normalize(dir).replace(/\/$/, '');
    return f === d || f.startsWith(`${d}/`);
  });
}
