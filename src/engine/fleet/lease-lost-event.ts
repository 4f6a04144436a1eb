/** The audit record of a completion that fencing refused (`LEASE_LOST`). @module */
import type { ErrorCode } from '../../lib/errors.ts';
import type { RefusedCompletion } from './fleet-worker.ts';

const CODE: ErrorCode = 'LEASE_LOST';

export function leaseLostEvent(r: RefusedCompletion) {
  return {
    action: 'attempt.refused',
    actor: { kind: 'service' as const, id: 'engine' },
    source: 'engine',
    resource: { env: r.env, dagId: r.dagId, runId: r.runId, taskId: r.taskId },
    outcome: 'refused',
    details: {
      code: CODE,
      attempt: r.attemptId,
      try: r.tryNumber,
      worker: r.workerId,
      message: `worker ${r.workerId} completed attempt ${r.attemptId} after its lease expired and the attempt was reclaimed; the completion was refused, and the task's later attempt stands`,
    },
  };
}
