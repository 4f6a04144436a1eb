/**
 * Runs policy test cases kept in YAML beside the policies (`*.cedar-test.yaml`, `policies/tests/*.yaml`),
 * so that a policy change gets CI. Each case names a principal, an action, a resource, a context and
 * the expected decision (`expect: allow|deny`) or, for triggers, the expected outcome
 * (`outcome: allow|approval|deny`).
 * @module
 */
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';
import { AirclutchError } from '../lib/errors.ts';
import { formatIssues } from '../lib/format-issues.ts';
import { ACTIONS, SOURCES } from './cedar-names.ts';
import { decideTrigger } from './decide-trigger.ts';
import type { Decision, PolicyEngine, PolicyRequest, PolicyResource } from './policy-engine.ts';

const caseSchema = z.object({
  name: z.string(),
  principal: z.object({
    kind: z.enum(['user', 'service']).default('user'),
    id: z.string(),
    groups: z.array(z.string()).default([]),
    token: z
      .object({
        amr: z.array(z.string()).default([]),
        scopes: z.array(z.string()).default([]),
        authTime: z.number().int().optional(),
      })
      .optional(),
  }),
  action: z.enum(ACTIONS),
  resource: z.object({
    env: z.string(),
    dag: z.string().optional(),
    kind: z.enum(['env', 'dag', 'run', 'approvalRequest']).optional(),
    id: z.string().default('test'),
    requestedBy: z.string().default('User::"someone@example.com"'),
  }),
  context: z
    .object({
      params: z.record(z.string(), z.unknown()).optional(),
      source: z.enum(SOURCES).default('api'),
      now: z.string().default('2024-06-05T10:00:00Z'),
    })
    .default({ source: 'api', now: '2024-06-05T10:00:00Z' }),
  expect: z.enum(['allow', 'deny']).optional(),
  outcome: z.enum(['allow', 'approval', 'deny']).optional(),
});
const fileSchema = z.union([z.array(caseSchema), z.object({ cases: z.array(caseSchema) })]);
export type PolicyTestCase = z.output<typeof caseSchema>;

export interface PolicyTestResult {
  readonly file: string;
  readonly name: string;
  readonly passed: boolean;
  readonly expected: string;
  readonly actual: string;
  readonly decision: Decision;
  /**
   * Why, in the policies' own words: the determining reasons, and for a trigger that needs approval
   * the reasons the trigger itself was refused (the forbid that forced approval), not the permit
   * of `requestTrigger`.
   */
  readonly why: readonly string[];
}

/** Reads one YAML test file. Throws `REQUEST_INVALID` naming the file and each bad field. */
export async function readPolicyTests(file: string): Promise<PolicyTestCase[]> {
  const parsed = fileSchema.safeParse(parse(await readFile(file, 'utf8')));
  if (!parsed.success) {
    throw new AirclutchError(
      'REQUEST_INVALID',
      `policy test file ${file} is invalid:\n${formatIssues(parsed.error.issues)}`,
    );
  }
  return Array.isArray(parsed.data) ? parsed.data : parsed.data.cases;
}

/**
 * Runs every case of every file against `engine`.
 *
 * @example
 * const results = await runPolicyTests(engine, ['examples/dags/nightly_revenue.cedar-test.yaml']);
 * const failed = results.filter((r) => !r.passed);
 */
export async function runPolicyTests(
  engine: PolicyEngine,
  files: readonly string[],
): Promise<PolicyTestResult[]> {
  const results: PolicyTestResult[] = [];
  for (const file of files) {
    for (const c of await readPolicyTests(file)) results.push(runCase(engine, file, c));
  }
  return results;
}

function runCase(engine: PolicyEngine, file: string, c: PolicyTestCase): PolicyTestResult {
  const request = toRequest(c);
  if (c.outcome) {
    const t = decideTrigger(engine, request);
    return {
      file,
      name: c.name,
      passed: t.outcome === c.outcome,
      expected: c.outcome,
      actual: t.outcome,
      decision: t.decision,
      why: t.outcome === 'approval' ? t.decisions.trigger.reasons : t.decision.reasons,
    };
  }
  const d = engine.decide(request);
  const expected = c.expect ?? 'allow';
  return {
    file,
    name: c.name,
    passed: d.effect === expected,
    expected,
    actual: d.effect,
    decision: d,
    why: d.reasons,
  };
}

/** Builds the engine request a test case describes. */
export function toRequest(c: PolicyTestCase): PolicyRequest {
  const { principal: p, resource: r } = c;
  const kind =
    r.kind ??
    (r.dag
      ? c.action === 'approve'
        ? 'approvalRequest'
        : c.action === 'cancel' || c.action === 'readLogs'
          ? 'run'
          : 'dag'
      : 'env');
  const dagId = r.dag ?? '';
  let resource: PolicyResource;
  if (kind === 'env') resource = { kind, env: r.env };
  else if (kind === 'dag') resource = { kind, env: r.env, dagId };
  else if (kind === 'run') resource = { kind, env: r.env, dagId, runId: r.id, requestedBy: r.requestedBy };
  else resource = { kind, env: r.env, dagId, requestId: r.id, requestedBy: r.requestedBy };
  return {
    principal: {
      kind: p.kind,
      id: p.id,
      groups: p.groups,
      issuer: 'policy-test',
      subject: p.id,
      ...(p.token ? { token: p.token } : {}),
    },
    action: c.action,
    resource,
    context: { params: c.context.params, now: new Date(c.context.now), source: c.context.source },
  };
}
