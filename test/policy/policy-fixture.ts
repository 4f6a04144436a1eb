/** Writes policy files into a temp folder and loads them with a real Cedar store and engine. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { dag } from '../../src/dag/dag.ts';
import type { Principal } from '../../src/identity/principal.ts';
import { CedarPolicyEngine } from '../../src/policy/cedar-policy-engine.ts';
import type { PolicyContextInput, PolicyRequest } from '../../src/policy/policy-engine.ts';
import { CedarPolicyStore } from '../../src/policy/policy-store.ts';

export const revenue = dag({
  id: 'revenue',
  owner: 'data-eng',
  tags: ['finance'],
  params: z.object({ rows: z.number().int().default(1000), dryRun: z.boolean().default(false) }),
});

export class PolicyFixture {
  readonly dir = mkdtempSync(join(tmpdir(), 'airclutch-policy-'));
  readonly store = new CedarPolicyStore({
    rootDir: this.dir,
    dags: ['staging', 'prod'].map((env) => ({ env, dag: revenue, file: join(this.dir, 'dags/revenue.ts') })),
    policyDirs: { staging: ['policies'], prod: ['policies'] },
  });
  readonly engine = new CedarPolicyEngine(this.store);

  constructor(files: Record<string, string> = {}) {
    mkdirSync(join(this.dir, 'policies'), { recursive: true });
    this.write(files);
  }

  write(files: Record<string, string>): void {
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(this.dir, name)), { recursive: true });
      writeFileSync(join(this.dir, name), text);
    }
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function user(id: string, groups: string[], token?: Principal['token']): Principal {
  return { kind: 'user', id, groups, issuer: 'https://idp.test', subject: id, ...(token ? { token } : {}) };
}

/** 2024-06-05 is a Wednesday. */
export const WEDNESDAY = new Date('2024-06-05T10:00:00Z');

export function triggerRequest(
  principal: Principal,
  env: string,
  context: Partial<PolicyContextInput> = {},
): PolicyRequest {
  return {
    principal,
    action: 'trigger',
    resource: { kind: 'dag', env, dagId: 'revenue' },
    context: { params: { rows: 1000, dryRun: false }, now: WEDNESDAY, source: 'api', ...context },
  };
}
