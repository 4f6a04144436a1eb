/** Inserts a new run row (queued or awaiting approval). @module */
import type { RunsTable } from '../../store/database.ts';
import { type Queryable, rawUpdate, tuples } from './executor-db.ts';

/** A complete run row: every column set, so callers can show it without reading it back. */
export type NewRun = RunsTable;

export async function insertRun(q: Queryable, run: NewRun): Promise<void> {
  const columns = Object.keys(run) as (keyof NewRun)[];
  await rawUpdate(
    q,
    `insert into runs (${columns.join(', ')}) values ${tuples(1, columns.length)}`,
    columns.map((c) => run[c]),
  );
}
