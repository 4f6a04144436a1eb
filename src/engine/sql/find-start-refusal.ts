/**
 * The one check before a run starts: it was decided by the gate (its decision record is in the audit
 * trail) and the DAG loaded now is the version that was decided (and, for approvals, approved).
 * @module
 */
import type { RunsTable } from '../../store/database.ts';
import type { SourcedDag } from '../engine-types.ts';
import { type Queryable, rawQuery } from './executor-db.ts';

/** Why a run may not start: the code goes into the run's error and its audit record. */
export interface StartRefusal {
  readonly code: 'DAG_CHANGED' | 'DAG_NOT_FOUND' | 'RUN_UNDECIDED';
  readonly message: string;
}

/** Gate records that create a run. */
const DECISION_ACTIONS = ['trigger', 'breakGlass'] as const;

/**
 * SQL: whether the run row `run` (a table or CTE alias with the runs columns) is decided, its decision
 * record in the trail, for the queries that read runs to start them.
 */
export const decidedSql = (run: string) => `exists (
    select 1 from audit_records a
    where a.seq = ${run}.decision_seq and a.run_id = ${run}.id and a.dag_version = ${run}.dag_version
      and a.action in (${DECISION_ACTIONS.map((a) => `'${a}'`).join(', ')})
  )`;

const DECIDED_RUN = `select runs.*, ${decidedSql('runs')} as decided from runs where id = ?`;
const DECIDED = `select ${decidedSql('runs')} as decided from runs where id = ?`;

/**
 * Returns why `row` may not start with `found`, or null. One query (whether the run's stored row is
 * decided, by the predicate the engine's run reads use), none per task.
 */
export async function findStartRefusal(
  q: Queryable,
  row: Pick<RunsTable, 'id' | 'env' | 'dag_id' | 'dag_version' | 'decision_seq'>,
  found: Pick<SourcedDag, 'version'> | undefined,
): Promise<StartRefusal | null> {
  const [stored] = await rawQuery<{ decided: boolean | number }>(q, DECIDED, [row.id]);
  // SQLite answers `exists` with 0 or 1.
  return startRefusal(row, Boolean(stored?.decided), found);
}

/**
 * A run's row and whether its decision record is in the trail (for `startRefusal`), in one query:
 * the engine reads the row when it starts a run anyway, so the check costs no round trip of its own.
 */
export async function readDecidedRun(
  q: Queryable,
  runId: string,
): Promise<(RunsTable & { decided: boolean }) | undefined> {
  const [row] = await rawQuery<RunsTable & { decided: boolean | number }>(q, DECIDED_RUN, [runId]);
  return row && { ...row, decided: Boolean(row.decided) };
}

/**
 * The same check when the caller has already looked the decision record up (`decided`: a record at
 * `row.decision_seq` that decides this run at its version), for example in the query that read the row.
 */
export function startRefusal(
  row: Pick<RunsTable, 'id' | 'env' | 'dag_id' | 'dag_version' | 'decision_seq'>,
  decided: boolean,
  found: Pick<SourcedDag, 'version'> | undefined,
): StartRefusal | null {
  if (!decided) {
    const dag = `${row.env}/${row.dag_id}`;
    return {
      code: 'RUN_UNDECIDED',
      message: `run ${row.id} of ${dag} has no decision record in the audit trail${row.decision_seq === null ? '' : ` (record ${row.decision_seq} does not decide this run at version ${row.dag_version})`}; it was written around the gate, so it will not start: trigger the DAG through the gate (API, CLI or airclutch/embed)`,
    };
  }
  return dagRefusal(row, found);
}

/** Why a run may not go on with the DAG loaded now (not loaded, or another version), or null. */
export function dagRefusal(
  row: Pick<RunsTable, 'env' | 'dag_id' | 'dag_version'>,
  found: Pick<SourcedDag, 'version'> | undefined,
): StartRefusal | null {
  const dag = `${row.env}/${row.dag_id}`;
  if (!found) {
    return {
      code: 'DAG_NOT_FOUND',
      message: `DAG ${row.dag_id} is not loaded in environment ${row.env}: fix its file (\`airclutch dags list\` shows import errors) and trigger it again`,
    };
  }
  if (found.version !== row.dag_version) {
    return {
      code: 'DAG_CHANGED',
      message: `DAG ${dag} changed after this run was decided (decided version ${row.dag_version}, loaded version ${found.version}); the run did not execute code nobody decided on: trigger it again so the new version is decided (and approved)`,
    };
  }
  return null;
}
