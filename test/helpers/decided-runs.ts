/**
 * Runs created the way the gate creates them, for engine tests and benchmarks that run without
 * policies: a decision record in the audit trail, then the run row naming it, in one transaction.
 * The executor starts nothing else (`RUN_UNDECIDED`).
 */
import { SqlAuditLog } from '../../src/audit/sql-audit-log.ts';
import type { Engine } from '../../src/engine/engine.ts';
import type { RunRequest, RunSubmitter } from '../../src/engine/engine-types.ts';
import { insertRun, type NewRun } from '../../src/engine/sql/insert-run.ts';
import type { Db } from '../../src/store/create-db.ts';

export interface DecidedRuns {
  /** Validates, records an allow decision and inserts the queued run; tells the engine. */
  trigger(request: RunRequest): Promise<NewRun>;
  /** The same, for the engine's own requests (schedules, `ctx.trigger()`). */
  readonly submitter: RunSubmitter;
  /** Cancels in one transaction, as the gate does, and tells the engine. */
  cancel(runId: string, reason?: string): Promise<boolean>;
}

export function decidedRuns(db: Db, engine: Engine): DecidedRuns {
  const audit = new SqlAuditLog(db);
  const trigger = async (request: RunRequest) => {
    const prepared = await engine.prepareRun(request);
    const run = await db.kysely.transaction().execute(async (trx) => {
      const [record] = await audit.append(
        [
          {
            action: 'trigger',
            actor: { kind: request.principal.kind, id: request.principal.id },
            resource: {
              env: prepared.env,
              dagId: prepared.dag_id,
              dagVersion: prepared.dag_version,
              runId: prepared.id,
            },
            source: request.source,
            paramsHash: prepared.params_hash,
            decision: { effect: 'allow', policies: ['test'], reasons: [] },
            outcome: 'started',
          },
        ],
        { trx },
      );
      const row = { ...prepared, decision_seq: record!.seq };
      await insertRun(trx, row);
      return row;
    });
    engine.notify(run);
    return run;
  };
  return {
    trigger,
    submitter: {
      submit: async (req) => ({ runId: (await trigger(req)).id, outcome: 'allow' }),
    },
    async cancel(runId, reason = 'cancelled') {
      const done = await db.kysely.transaction().execute((trx) => engine.cancelRun(trx, runId, reason));
      if (done) engine.cancelled(done);
      return done !== null;
    },
  };
}
