/**
 * Gate benchmarks (issue 4): one trigger end to end in process (verify the token, decide with Cedar,
 * write the audit record and the run in one durable SQLite transaction), and an approval round trip
 * (a request, two approvals, the run starting).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { voteOnApproval } from '../src/gate/vote.ts';
import { identityConfigSchema } from '../src/identity/identity-config.ts';
import { OidcTokenVerifier } from '../src/identity/oidc-token-verifier.ts';
import { createWorld, lead, lead2 } from '../test/helpers/gate-world.ts';
import { startIdpProcess } from './idp-process.ts';
import { median, percentile, round } from './stats.ts';

export async function benchGate(): Promise<Record<string, number>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'airclutch-bench-idp-'));
  const idp = await startIdpProcess(dataDir);
  const world = await createWorld('sqlite');
  try {
    const identity = identityConfigSchema.parse({ devIdp: { port: idp.port } });
    const verifier = OidcTokenVerifier.fromConfig(identity);
    const token = await idp.mintToken('eng@example.com');
    let n = 0;
    const trigger = async () => {
      const principal = await verifier.verify(token, { action: 'trigger' });
      await world.gate.trigger(
        { principal, source: 'api', requestId: `bench-${n++}` },
        { dagId: 'revenue', params: { rows: 10 } },
      );
    };
    for (let i = 0; i < 300; i++) await trigger();
    const samples: number[] = [];
    for (let i = 0; i < 2_000; i++) {
      const t0 = performance.now();
      await trigger();
      samples.push((performance.now() - t0) * 1000);
    }

    // Round trips: the executor is running so "the run starting" is observed, not assumed.
    await world.db.kysely.deleteFrom('runs').execute();
    await world.engine.start();
    const eng = await verifier.verify(token, { action: 'trigger' });
    const trips: number[] = [];
    for (let i = 0; i < 40; i++) {
      const t0 = performance.now();
      const res = await world.gate.trigger(
        { principal: eng, source: 'api', requestId: `rt-${i}` },
        { dagId: 'revenue', params: { rows: 2_000_000 } },
      );
      if (res.outcome !== 'awaiting_approval') throw new Error(`expected approval, got ${res.outcome}`);
      const started = new Promise<void>((resolve) => {
        const on = (e: { runId: string; state: string }) => {
          if (e.runId === res.run.id && e.state === 'running') {
            world.engine.off('run', on);
            resolve();
          }
        };
        world.engine.on('run', on);
      });
      await voteOnApproval(world.gate, world.ctx(lead), res.approval.id, 'approve');
      await voteOnApproval(world.gate, world.ctx(lead2), res.approval.id, 'approve');
      await started;
      trips.push(performance.now() - t0);
      await world.engine.waitForRun(res.run.id);
    }
    return {
      gate_trigger_p99_us: round(percentile(samples, 99), 1),
      gate_trigger_p50_us: round(percentile(samples, 50), 1),
      approval_roundtrip_ms: round(median(trips.slice(5)), 2),
    };
  } finally {
    await world.dispose();
    await idp.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
