/**
 * Durable figures set against the disk they ran on (`fsync_p50_us` from `bench/disk.ts`, same run)
 * and PostgreSQL figures against graphile-worker on the same server (`bench/graphile.ts`). A ratio
 * is left out when either side is missing.
 * @module
 */
import { round } from './stats.ts';

/**
 * @example
 * ratios({ fsync_p50_us: 200, gate_trigger_p50_us: 600 }) // { gate_trigger_p50_over_fsync: 3, … }
 */
export function ratios(f: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  const fsync = f.fsync_p50_us;
  const overFsync = (name: string, us: number | undefined) => {
    if (fsync && us !== undefined && Number.isFinite(us)) out[name] = round(us / fsync, 2);
  };
  const ms = (v: number | undefined) => (v === undefined ? undefined : v * 1_000);
  // The engine on SQLite: one step of a chain, and the whole chain (40 steps).
  overFsync('transition_p50_over_fsync', ms(f.transition_p50_ms));
  overFsync('chain40_over_fsync', f.chain40_s === undefined ? undefined : f.chain40_s * 1e6);
  // The gate: one durable trigger, acknowledged after its commit.
  overFsync('gate_trigger_p50_over_fsync', f.gate_trigger_p50_us);
  overFsync('gate_trigger_p99_over_fsync', f.gate_trigger_p99_us);
  overFsync('gate_trigger_fresh_p50_over_fsync', f.gate_trigger_fresh_p50_us);
  overFsync('gate_trigger_cold_p50_over_fsync', f.gate_trigger_cold_p50_us);
  overFsync('approval_roundtrip_over_fsync', ms(f.approval_roundtrip_ms));
  // One audit record in its own transaction.
  overFsync(
    'audit_append_single_tx_over_fsync',
    f.audit_append_single_tx_per_s ? 1e6 / f.audit_append_single_tx_per_s : undefined,
  );
  // The Airflow bridge: what it adds before Airflow has a trigger (one durable commit on the way).
  overFsync('bridge_trigger_overhead_p50_over_fsync', ms(f.bridge_trigger_overhead_p50_ms));
  // Over HTTP: the p99 at the reported rate.
  overFsync('http_p99_over_fsync', ms(f.http_p99_ms));
  const vs = (name: string, ours: number | undefined, theirs: number | undefined) => {
    if (ours && theirs) out[name] = round(ours / theirs, 2);
  };
  // Below 1.0 Airclutch is faster: times divide ours by theirs, rates theirs by ours.
  vs('chain40_pg_vs_graphile', f.chain40_s_pg, f.chain40_s_graphile);
  vs('fanout10k_pg_vs_graphile', f.fanout10k_jobs_per_s_graphile, f.fanout10k_tasks_per_s_pg);
  return out;
}
