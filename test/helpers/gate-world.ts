/**
 * A whole Airclutch on real parts: DAG files and Cedar policies written to a temp folder, loaded by
 * the DAG registry and the policy store, a real store (SQLite or PostgreSQL), the audit trail, the
 * engine and the gate.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type Airclutch, createAirclutch } from '../../src/app/create-airclutch.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import type { Principal } from '../../src/identity/principal.ts';
import type { DialectName } from '../../src/store/create-db.ts';
import { createTestDb, type TestDb } from './test-db.ts';

export const DAGS = {
  'dags/revenue.ts': `
import { dag } from 'airclutch';
import { z } from 'zod';
const d = dag({ id: 'revenue', owner: 'data-eng', approvals: { quorum: 2, expiresAfterMs: 3_600_000 },
  params: z.object({ rows: z.number().int().default(1000), dryRun: z.boolean().default(false),
    apiKey: z.string().optional().meta({ sensitive: true }) }) });
const a = d.task('extract', (ctx) => ({ rows: ctx.params.rows }));
d.task('load', { after: [a] }, (ctx) => ctx.upstream(a).rows);
export default d;
`,
  'dags/revenue.cedar': `
@reason("over a million rows needs approval")
forbid (principal, action == Action::"trigger", resource) when { context.params.rows > 1000000 };
`,
  'dags/cleanup.ts': `
import { dag } from 'airclutch';
const d = dag({ id: 'cleanup', schedule: '0 * * * *' });
d.task('sweep', async (ctx) => {
  const r = await ctx.trigger('revenue', { rows: 5 });
  return r;
});
export default d;
`,
  'policies/roles.cedar': `
@reason("engineers see everything")
permit (principal in Group::"data-eng", action in Action::"read", resource);
@reason("leads see everything")
permit (principal in Group::"data-leads", action in Action::"read", resource);
@reason("engineers run DAGs")
permit (principal in Group::"data-eng", action in Action::"operate", resource);
@reason("engineers may ask for any run")
permit (principal in Group::"data-eng", action == Action::"requestTrigger", resource);
@reason("leads approve")
permit (principal in Group::"data-leads", action == Action::"approve", resource);
@reason("on-call breaks glass")
permit (principal in Group::"oncall", action == Action::"breakGlass", resource);
@reason("the scheduler starts scheduled runs")
permit (principal == Service::"scheduler", action == Action::"trigger", resource) when { context.source == "schedule" };
@reason("cleanup may start revenue")
permit (principal == Service::"dag:dev/cleanup", action == Action::"trigger", resource == Dag::"dev/revenue");
`,
};

export const eng: Principal = user('eng@example.com', ['data-eng']);
export const eng2: Principal = user('eng2@example.com', ['data-eng']);
export const lead: Principal = user('lead@example.com', ['data-leads']);
export const lead2: Principal = user('lead2@example.com', ['data-leads']);
export const outsider: Principal = user('guest@example.com', ['visitors']);
export const oncall: Principal = user('oncall@example.com', ['oncall', 'data-eng']);

export function user(id: string, groups: string[]): Principal {
  return {
    kind: 'user',
    id,
    groups,
    issuer: 'https://idp.test',
    subject: id,
    token: { scopes: [], amr: ['pwd'] },
  };
}

export interface World extends Airclutch {
  dir: string;
  testDb: TestDb;
  ctx(principal: Principal): { principal: Principal; source: 'api'; requestId: string };
  write(files: Record<string, string>): void;
  dispose(): Promise<void>;
}

let requests = 0;

export async function createWorld(
  dialect: DialectName,
  options: { clock?: () => number; files?: Record<string, string>; config?: string } = {},
): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'airclutch-world-'));
  const write = (files: Record<string, string>) => {
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
  };
  write({ ...DAGS, ...options.files });
  writeFileSync(
    join(dir, 'airclutch.config.yaml'),
    options.config ?? 'environments:\n  dev:\n    dags: [dags]\n    policies: [policies]\n',
  );
  const config = await loadConfig({ cwd: dir, env: {} });
  const testDb = await createTestDb(dialect);
  const ac = await createAirclutch(config, {
    db: testDb,
    engine: { pollIntervalMs: 50 },
    ...(options.clock ? { clock: options.clock } : {}),
  });
  return {
    ...ac,
    dir,
    testDb,
    write,
    ctx: (principal) => ({ principal, source: 'api', requestId: `req-${++requests}` }),
    async dispose() {
      await ac.scheduler.stop();
      await ac.engine.stop(1_000);
      await ac.close();
      await testDb.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
