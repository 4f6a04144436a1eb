/** Inserts a new run row (queued or awaiting approval). @module */
import type { Insertable } from 'kysely';
import type { RunsTable } from '../../store/database.ts';
import type { Queryable } from './executor-db.ts';

export type NewRun = Insertable<RunsTable>;

export async function insertRun(q: Queryable, run: NewRun): Promise<void> {
  await q.insertInto('runs').values(run).execute();
}
