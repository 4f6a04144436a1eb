/** A `runs` row for tests that seed the store directly: a user's API run of `dev/d` v1, started. @module */
import type { RunsTable } from '../../src/store/database.ts';

export function runRow(overrides: Partial<RunsTable> & Pick<RunsTable, 'id'>): RunsTable {
  return {
    env: 'dev',
    dag_id: 'd',
    dag_version: 'v1',
    state: 'running',
    params: '{}',
    params_hash: 'h',
    logical_date: null,
    schedule_key: null,
    source: 'api',
    requested_by_kind: 'user',
    requested_by: 'eng@example.com',
    note: null,
    break_glass: 0,
    created_at: 1,
    started_at: 1,
    ended_at: null,
    error: null,
    decision_seq: null,
    ...overrides,
  };
}
