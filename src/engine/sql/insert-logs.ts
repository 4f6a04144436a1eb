/** Appends attempt log lines in multi-row inserts. @module */
import type { Insertable } from 'kysely';
import type { TaskLogsTable } from '../../store/database.ts';
import { chunks, type Queryable } from './executor-db.ts';

export type LogLine = Insertable<TaskLogsTable>;

export async function insertLogs(q: Queryable, lines: readonly LogLine[]): Promise<void> {
  for (const part of chunks(lines, 400)) await q.insertInto('task_logs').values(part).execute();
}
