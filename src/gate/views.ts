/** Rows as callers see them: params parsed, flags as booleans. @module */
import type { RunsTable } from '../store/database.ts';
import type { RunView } from './gate-types.ts';

export function toRunView(row: RunsTable): RunView {
  return { ...row, params: JSON.parse(row.params), break_glass: row.break_glass === 1 };
}
