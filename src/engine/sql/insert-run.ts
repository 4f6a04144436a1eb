/** Inserts a new run row (queued or awaiting approval). @module */
import type { RunsTable } from '../../store/database.ts';
import type { Queryable } from './executor-db.ts';

/** A complete run row: every column set, so callers can show it without reading it back. */
export type NewRun = RunsTable;

export async function insertRun(q: Queryable, run: NewRun): Promise<void> {
  await q.insertInto('runs').values(run).execute();
}
