/**
 * Brings a new SQLite store's WAL to the size it keeps on a server that has been running. SQLite
 * writes the WAL from its start again after a checkpoint, overwriting it; on a new file it grows
 * first, and under steady writes it grows until the safety-net checkpoint (`SAFETY_NET_PAGES`, see
 * `src/store/wal-checkpointer.ts`). While it grows every commit extends the file, and the fsync then
 * also commits the file system's journal: on this disk a trigger's commit took ~90 µs more, and the
 * p99 was several milliseconds. That happens once per process start, for the first ~66 MB of WAL.
 * Benchmarks of a running server call this first; `bench/gate.ts` also reports the figures before it
 * (`gate_trigger_cold_*`).
 * @module
 */
import { sql } from 'kysely';
import type { Db } from '../src/store/create-db.ts';
import { SAFETY_NET_PAGES } from '../src/store/wal-checkpointer.ts';

/** Writes one transaction of more pages than the safety net and drops them: the WAL keeps its size. */
export async function growWal(db: Db): Promise<void> {
  if (db.dialect !== 'sqlite') return;
  await sql`create table bench_wal_fill (b blob)`.execute(db.kysely);
  await sql`with recursive n(i) as (select 1 union all select i + 1 from n where i < ${SAFETY_NET_PAGES + 500})
    insert into bench_wal_fill select zeroblob(4000) from n`.execute(db.kysely);
  await sql`drop table bench_wal_fill`.execute(db.kysely);
}
