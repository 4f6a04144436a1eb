/**
 * Gate benchmarks: one trigger end to end in process (verify the access token, decide with Cedar,
 * write the decision's audit record and the run in one durable SQLite transaction), measured both
 * ways for identity: `gate_trigger_*` with one client's token again and again (the verification
 * cache answers, as in steady traffic) and `gate_trigger_fresh_*` with a new token each time from
 * 100 principals (a signature check each, as from many clients). Both on a store whose WAL has its
 * running size (`growWal`); `gate_trigger_cold_*` are the same triggers on a new store, first thing
 * after a start, while every commit still grows the WAL file. And an approval round trip (a
 * request, two approvals, the run starting), every principal verified from its token.
 * @module
 */
import { performance } from 'node:perf_hooks';
import { voteOnApproval } from '../src/gate/vote.ts';
import { DAGS } from '../test/helpers/gate-world.ts';
import { createBenchWorld, startBenchIssuer } from './bench-world.ts';
import { growWal } from './grow-wal.ts';
import { runIfMain } from './main.ts';
import { median, percentile, round } from './stats.ts';

const SAMPLES = 2_000;

export async function benchGate(): Promise<Record<string, number>> {
  const issuer = await startBenchIssuer();
  const world = await createBenchWorld('sqlite', DAGS, '', { steadyWal: false });
  try {
    const { verifier } = issuer;
    let n = 0;
    const trigger = async (token: string) => {
      const principal = await verifier.verify(token, { action: 'trigger' });
      const res = await world.gate.trigger(
        { principal, source: 'api', requestId: `bench-${n++}` },
        { dagId: 'revenue', params: { rows: 10 } },
      );
      if (res.outcome !== 'started') throw new Error(`bench trigger was not started: ${res.outcome}`);
    };
    const timed = async (tokens: () => string) => {
      const samples: number[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        const token = tokens();
        const t0 = performance.now();
        await trigger(token);
        samples.push((performance.now() - t0) * 1000);
      }
      return samples;
    };
    const mint = async (count: number) => {
      const out: string[] = [];
      for (let i = 0; i < count; i++) out.push(await issuer.token(`eng${i % 100}@example.com`, ['data-eng']));
      return out;
    };
    const one = await issuer.token('eng@example.com', ['data-eng']);
    for (let i = 0; i < 300; i++) await trigger(one);
    const cold = await timed(() => one);
    await growWal(world.db);
    const cached = await timed(() => one);
    const freshTokens = await mint(SAMPLES);
    const fresh = await timed(() => freshTokens.pop()!);

    // Round trips: the executor is running so "the run starting" is observed, not assumed.
    await world.db.kysely.deleteFrom('runs').execute();
    await world.engine.start();
    const eng = await verifier.verify(one, { action: 'trigger' });
    const lead = await verifier.verify(await issuer.token('lead@example.com', ['data-leads']));
    const lead2 = await verifier.verify(await issuer.token('lead2@example.com', ['data-leads']));
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
      const ctx = (principal: typeof lead) => ({ principal, source: 'api' as const, requestId: `v-${n++}` });
      // Each approver votes on what it was shown: the request's params hash and DAG version.
      const shown = { paramsHash: res.approval.params_hash, dagVersion: res.approval.dag_version };
      await voteOnApproval(world.gate, ctx(lead), res.approval.id, 'approve', shown);
      await voteOnApproval(world.gate, ctx(lead2), res.approval.id, 'approve', shown);
      await started;
      trips.push(performance.now() - t0);
      await world.engine.waitForRun(res.run.id);
    }
    return {
      gate_trigger_p99_us: round(percentile(cached, 99), 1),
      gate_trigger_p50_us: round(percentile(cached, 50), 1),
      gate_trigger_cold_p99_us: round(percentile(cold, 99), 1),
      gate_trigger_cold_p50_us: round(percentile(cold, 50), 1),
      gate_trigger_fresh_p99_us: round(percentile(fresh, 99), 1),
      gate_trigger_fresh_p50_us: round(percentile(fresh, 50), 1),
      approval_roundtrip_ms: round(median(trips.slice(5)), 2),
    };
  } finally {
    await world.dispose();
    await issuer.close();
  }
}

await runIfMain(import.meta, () => benchGate());
