/** Names the decision record of a run the gate inserted before its record existed (approval and break-glass requests). @module */
import type { AppendedRecord } from '../../audit/audit-types.ts';
import { type Queryable, rawUpdate } from './executor-db.ts';

/** Sets `decision_seq` once, in the gate's transaction: a run's decision never changes afterwards. */
export async function setDecision(
  q: Queryable,
  runId: string,
  records: readonly AppendedRecord[],
): Promise<void> {
  const [record] = records;
  if (!record) throw new Error(`the decision record of run ${runId} was not appended`);
  await rawUpdate(q, 'update runs set decision_seq = ? where id = ? and decision_seq is null', [
    record.seq,
    runId,
  ]);
}
