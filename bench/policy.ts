/** Benchmark of one policy decision: building the entities and asking Cedar, 200 policies over 50 DAGs. @module */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { dag } from '../src/dag/dag.ts';
import type { Principal } from '../src/identity/principal.ts';
import { CedarPolicyEngine } from '../src/policy/cedar-policy-engine.ts';
import type { PolicyRequest } from '../src/policy/policy-engine.ts';
import { CedarPolicyStore } from '../src/policy/policy-store.ts';
import { runIfMain } from './main.ts';
import { median, round } from './stats.ts';

const DAGS = 50;
const SHARED = 20;
const POLICIES = 200;
/** The 180 DAG policies spread over 50 DAGs: 4 each for the first 30, 3 each for the other 20. */
const perDag = (d: number) => {
  const base = Math.floor((POLICIES - SHARED) / DAGS);
  return base + (d < (POLICIES - SHARED) % DAGS ? 1 : 0);
};

/**
 * Measures `decision_p99_us`: the p99 of `engine.decide()` for triggers spread over 50 DAGs, each
 * request seeing its DAG's policies plus the shared ones, each with params never seen before so that
 * Cedar decides every one (the engine memoises answers on the exact Cedar input).
 * `decision_memo_p99_us`: the same 50 requests again and again, answered from the memo, as repeated
 * triggers are. Medians over five runs of 4,000.
 *
 * @example
 * const { decision_p99_us } = await benchPolicy();
 */
export async function benchPolicy(): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'airclutch-bench-policy-'));
  try {
    const engine = await setUp(dir);
    let n = 0;
    for (let i = 0; i < 5_000; i++) engine.decide(request(i % DAGS, n++));
    const measure = (next: (i: number) => PolicyRequest) => {
      const p99s: number[] = [];
      const p50s: number[] = [];
      for (let run = 0; run < 5; run++) {
        const samples: number[] = [];
        for (let i = 0; i < 4_000; i++) {
          const req = next(i);
          const start = process.hrtime.bigint();
          engine.decide(req);
          samples.push(Number(process.hrtime.bigint() - start) / 1_000);
        }
        samples.sort((a, b) => a - b);
        p99s.push(samples[Math.floor(samples.length * 0.99)]!);
        p50s.push(samples[Math.floor(samples.length * 0.5)]!);
      }
      return { p99: round(median(p99s), 1), p50: round(median(p50s), 1) };
    };
    const calls = engine.cedarCalls;
    const fresh = measure((i) => request(i % DAGS, n++));
    if (engine.cedarCalls - calls !== 5 * 4_000) throw new Error('the policy bench hit the memo');
    const repeated = Array.from({ length: DAGS }, (_, i) => request(i, 0));
    const memo = measure((i) => repeated[i % DAGS]!);
    return {
      decision_p99_us: fresh.p99,
      decision_p50_us: fresh.p50,
      decision_memo_p99_us: memo.p99,
      decision_memo_p50_us: memo.p50,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function setUp(dir: string): Promise<CedarPolicyEngine> {
  mkdirSync(join(dir, 'policies'));
  mkdirSync(join(dir, 'dags'));
  const shared = Array.from(
    { length: SHARED },
    (_, i) => `@reason("team ${i} operates in prod")
permit (principal in Group::"team-${i}", action in Action::"operate", resource in Env::"prod")
when { context.token.mfa || context.source == "schedule" };`,
  );
  writeFileSync(join(dir, 'policies/roles.cedar'), shared.join('\n\n'));
  const dags = [];
  for (let d = 0; d < DAGS; d++) {
    const local = Array.from({ length: perDag(d) }, (_, i) =>
      i % 2 === 0
        ? `@reason("big runs need approval")
forbid (principal, action == Action::"trigger", resource) when { context.params.rows > ${100_000 * (i + 1)} };`
        : `permit (principal in Group::"owners-${d}", action == Action::"trigger", resource)
when { context.params.region == "eu" && context.time.hour >= ${i} };`,
    );
    writeFileSync(join(dir, `dags/dag_${d}.cedar`), local.join('\n\n'));
    const def = dag({
      id: `dag_${d}`,
      owner: `team-${d % SHARED}`,
      tags: ['finance', `t${d}`],
      params: z.object({
        rows: z.number().int().default(1000),
        region: z.enum(['eu', 'us']).default('eu'),
        dryRun: z.boolean().default(false),
      }),
    });
    dags.push({ env: 'prod', dag: def, file: join(dir, `dags/dag_${d}.ts`) });
  }
  const store = new CedarPolicyStore({ rootDir: dir, dags, policyDirs: { prod: ['policies'] } });
  const loaded = await store.load();
  if (!loaded.ok) throw loaded.error;
  const count = SHARED + Array.from({ length: DAGS }, (_, d) => perDag(d)).reduce((a, b) => a + b, 0);
  if (count !== POLICIES) throw new Error(`the policy bench wrote ${count} policies, not ${POLICIES}`);
  return new CedarPolicyEngine(store);
}

/** A trigger of DAG `i`; `variant` changes the rows, which its policies read. */
function request(i: number, variant: number): PolicyRequest {
  const principal: Principal = {
    kind: 'user',
    id: `user${i}@example.com`,
    groups: [`team-${i % SHARED}`, `owners-${i}`, 'everyone'],
    issuer: 'https://idp.example.com',
    subject: `sub-${i}`,
    token: { scopes: ['openid', 'airclutch:trigger'], amr: ['pwd', 'mfa'], authTime: 1_717_000_000 },
  };
  return {
    principal,
    action: 'trigger',
    resource: { kind: 'dag', env: 'prod', dagId: `dag_${i}` },
    context: {
      params: { rows: 1000 * i + variant, region: 'eu', dryRun: false },
      now: new Date(),
      source: 'api',
    },
  };
}

await runIfMain(import.meta, () => benchPolicy());
