/**
 * Delivers queued runs of Airflow-backed environments: `POST …/dagRuns` with the params as `conf`,
 * a `dag_run_id` Airclutch chose (`airclutch__<run id>`, so a retry is the same remote run), the
 * logical date each API version expects, and a `note` naming the requester and the approvers.
 *
 * - Delivered: the run goes `queued → running` and the remote trigger is an audit record, in one
 *   transaction, grouped with the other deliveries that end at the same time (one fsync). A run the
 *   gate just committed is delivered from the row in hand (`deliverDecided`): the trigger path has
 *   one durable commit before Airflow is called, the gate's (decision record and run together).
 * - Not deliverable now (Airflow down, slow, 5xx, auth): the run stays queued with its error shown
 *   and is retried with backoff (`airflow.trigger: retrying` per attempt): a decision is never lost.
 * - Refused by Airflow (404, 403, 400), or the DAG changed since the decision: the run fails, with
 *   the reason.
 * @module
 */
import type { Transaction } from 'kysely';
import type { EngineTransition } from '../engine/engine-types.ts';
import { dagRefusal, findStartRefusal, type StartRefusal } from '../engine/sql/find-start-refusal.ts';
import { finishRun } from '../engine/sql/finish-run.ts';
import { AirclutchError, describeThrown } from '../lib/errors.ts';
import type { Database, RunsTable } from '../store/database.ts';
import { WriteBatcher } from '../store/write-batcher.ts';
import type { CatalogDag } from './airflow-catalog.ts';
import type { AirflowClient } from './airflow-client.ts';
import { BRIDGE_ACTOR, type ExecutorContext } from './executor-context.ts';
import { inParallel } from './in-parallel.ts';

export interface AirflowRunDelivererOptions {
  /** The remote DAG of a run, if Airflow has it now. */
  readonly remoteDag: (env: string, dagId: string) => CatalogDag | undefined;
  /** First delay before a failed delivery is tried again; doubles, capped at 5 min. */
  readonly retryMs: number;
  /** A run Airflow accepted (now `running`): the follower starts polling it. */
  readonly onDelivered: (run: RunsTable) => void;
}

/**
 * @example
 * const deliverer = new AirflowRunDeliverer(ctx, { remoteDag, retryMs: 1_000, onDelivered: (r) => follower.track(r) });
 * await deliverer.deliverDue(['prod']);
 */
export class AirflowRunDeliverer {
  readonly #ctx: ExecutorContext;
  readonly #o: AirflowRunDelivererOptions;
  readonly #writes: WriteBatcher;
  /** Runs being delivered now, by id. */
  readonly #inFlight = new Set<string>();

  constructor(ctx: ExecutorContext, options: AirflowRunDelivererOptions) {
    this.#ctx = ctx;
    this.#o = options;
    this.#writes = new WriteBatcher(ctx.db);
  }

  /** Delivers the queued runs that are due (first try, or their retry time came). */
  async deliverDue(envs: readonly string[]): Promise<void> {
    if (!envs.length) return;
    const rows = await this.#ctx.db.kysely
      .selectFrom('runs as r')
      .leftJoin('airflow_runs as a', 'a.run_id', 'r.id')
      .selectAll('r')
      .select(['a.next_attempt_at', 'a.attempts'])
      .where('r.state', '=', 'queued')
      .where('r.env', 'in', envs)
      .where((w) => w.or([w('a.next_attempt_at', 'is', null), w('a.next_attempt_at', '<=', this.#ctx.now())]))
      .orderBy('r.created_at')
      .limit(500)
      .execute();
    await inParallel(
      rows.filter((r) => !this.#inFlight.has(r.id)),
      this.#ctx.concurrency,
      (r) => this.#once(r, () => this.#deliver(r, r.attempts ?? 0, false)),
    );
  }

  /**
   * Delivers a run the gate has just committed, from the row it committed (so the decision it names
   * was written in the same transaction): no read of the queue, no read of the decision record.
   * A crash before the delivery is recorded leaves the run queued; the next pass sends the same
   * `dag_run_id` again, and Airflow's 409 and a lookup by that id record it as delivered, once.
   */
  async deliverDecided(run: RunsTable): Promise<void> {
    if (this.#inFlight.has(run.id)) return;
    await this.#once(run, () => this.#deliver(run, 0, true));
  }

  /** One delivery of a run at a time in this process (a tick and a wake may both see it queued). */
  async #once(run: RunsTable, deliver: () => Promise<void>): Promise<void> {
    if (this.#inFlight.has(run.id)) return;
    this.#inFlight.add(run.id);
    try {
      await deliver();
    } catch (e) {
      this.#ctx.onError(e as Error);
    } finally {
      this.#inFlight.delete(run.id);
    }
  }

  async #deliver(run: RunsTable, attempts: number, decidedInHand: boolean): Promise<void> {
    const env = this.#ctx.environments.get(run.env);
    if (!env) return;
    const remoteRunId = `airclutch__${run.id}`;
    const remote = this.#o.remoteDag(run.env, run.dag_id);
    // The same check the local executor makes: a run the gate decided, on the DAG version decided.
    // A row the gate handed over was committed with its decision record: only the DAG is checked.
    const refusal = decidedInHand
      ? dagRefusal(run, remote)
      : await findStartRefusal(this.#ctx.db.kysely, run, remote);
    if (refusal || !remote) {
      const { code, message } = refusal ?? { code: 'DAG_NOT_FOUND' as const, message: '' };
      await this.#refuse(run, remoteRunId, `${code}: ${message}; it was not delivered to Airflow`, code);
      return;
    }
    const note = await this.#note(run);
    try {
      const remoteRun = await env.client.triggerRun({
        dagId: run.dag_id,
        runId: remoteRunId,
        conf: JSON.parse(run.params) as Record<string, unknown>,
        note,
        logicalDate: new Date(run.logical_date ?? run.created_at).toISOString(),
        logicalDateChosen: run.logical_date !== null,
      });
      await this.#delivered(run, remoteRunId, remoteRun.state, remote.version, env.client);
    } catch (e) {
      if (e instanceof AirclutchError && e.code === 'AIRFLOW_REFUSED') {
        await this.#refuse(run, remoteRunId, e.message);
        return;
      }
      await this.#retryLater(run, remoteRunId, attempts + 1, describeThrown(e), remote.version);
    }
  }

  /** The remote run's note: the verified requester, the approvers, break-glass. */
  async #note(run: RunsTable): Promise<string> {
    const votes = await this.#ctx.db.kysely
      .selectFrom('approval_votes as v')
      .innerJoin('approval_requests as q', 'q.id', 'v.request_id')
      .select(['v.voter'])
      .where('q.run_id', '=', run.id)
      .where('v.vote', '=', 'approve')
      .orderBy('v.created_at')
      .execute();
    const approvers = votes.map((v) => v.voter);
    const parts = [
      `Airclutch run ${run.id}: requested by ${run.requested_by} (verified ${run.requested_by_kind}) via ${run.source}`,
    ];
    if (approvers.length) parts.push(`approved by ${approvers.join(', ')}`);
    if (run.break_glass) parts.push('BREAK-GLASS: started without approval, review pending');
    if (run.note) parts.push(`note: ${run.note}`);
    // Airflow caps a run note at 1000 characters.
    return parts.join('; ').slice(0, 1000);
  }

  async #delivered(
    run: RunsTable,
    remoteRunId: string,
    remoteState: string,
    version: string,
    client: AirflowClient,
  ): Promise<void> {
    const now = this.#ctx.now();
    const transitions: EngineTransition[] = [];
    // Grouped: deliveries that end together share one commit (one fsync). Airflow has the run
    // already; until this commits the run stays queued, and a crash here is recovered by the id.
    await this.#writes.run(async (trx) => {
      // Another delivery of the same run (a wake and a tick both saw it queued) recorded it: once is enough.
      const prior = await trx
        .selectFrom('airflow_runs')
        .select('delivery_state')
        .where('run_id', '=', run.id)
        .executeTakeFirst();
      if (prior?.delivery_state === 'delivered') return;
      await upsertAirflowRun(
        trx,
        deliveryRow(run, remoteRunId, now, {
          delivery_state: 'delivered',
          attempts: 0,
          next_attempt_at: null,
          last_error: null,
          remote_state: remoteState,
          dag_version: version,
        }),
      );
      const res = await trx
        .updateTable('runs')
        .set({ state: 'running', started_at: now, error: null })
        .where('id', '=', run.id)
        .where('state', '=', 'queued')
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 1) transitions.push(leftQueue(run, 'running'));
      await this.#ctx.record(trx, transitions, [
        {
          action: 'airflow.trigger',
          actor: BRIDGE_ACTOR,
          source: 'bridge',
          resource: { env: run.env, dagId: run.dag_id, dagVersion: version, runId: run.id },
          outcome: 'delivered',
          details: { remoteRunId, airflow: client.baseUrl, api: client.api, remoteState },
        },
      ]);
    });
    if (transitions.length) {
      this.#o.onDelivered(run);
      this.#ctx.onTransitions(transitions);
    }
  }

  async #retryLater(
    run: RunsTable,
    remoteRunId: string,
    attempts: number,
    error: string,
    version: string,
  ): Promise<void> {
    const now = this.#ctx.now();
    const delay = Math.min(300_000, this.#o.retryMs * 2 ** Math.min(attempts - 1, 20));
    const next = now + delay;
    const shown = `not delivered to Airflow yet (attempt ${attempts}; next try at ${new Date(next).toISOString()}): ${error}`;
    await this.#ctx.db.kysely.transaction().execute(async (trx) => {
      await upsertAirflowRun(
        trx,
        deliveryRow(run, remoteRunId, now, {
          delivery_state: 'pending',
          attempts,
          next_attempt_at: next,
          last_error: error,
          remote_state: null,
          dag_version: version,
        }),
      );
      // The run stays queued and shows why: a decision is never silently lost.
      await trx
        .updateTable('runs')
        .set({ error: shown })
        .where('id', '=', run.id)
        .where('state', '=', 'queued')
        .execute();
      await this.#ctx.record(
        trx,
        [],
        [
          {
            action: 'airflow.trigger',
            actor: BRIDGE_ACTOR,
            source: 'bridge',
            resource: { env: run.env, dagId: run.dag_id, runId: run.id },
            outcome: 'retrying',
            details: { remoteRunId, attempt: attempts, nextAttemptAt: next, error },
          },
        ],
      );
    });
  }

  async #refuse(
    run: RunsTable,
    remoteRunId: string,
    error: string,
    code?: StartRefusal['code'],
  ): Promise<void> {
    const now = this.#ctx.now();
    const transitions: EngineTransition[] = [];
    await this.#ctx.db.kysely.transaction().execute(async (trx) => {
      await upsertAirflowRun(
        trx,
        deliveryRow(run, remoteRunId, now, {
          delivery_state: 'refused',
          attempts: 0,
          next_attempt_at: null,
          last_error: error,
          remote_state: null,
          dag_version: run.dag_version,
        }),
      );
      if (await finishRun(trx, run.id, 'failed', now, error, ['queued'])) {
        transitions.push(leftQueue(run, 'failed', { error, ...(code ? { code } : {}) }));
      }
      await this.#ctx.record(trx, transitions, [
        {
          action: 'airflow.trigger',
          actor: BRIDGE_ACTOR,
          source: 'bridge',
          resource: { env: run.env, dagId: run.dag_id, runId: run.id },
          outcome: 'refused',
          details: { remoteRunId, error },
        },
      ]);
    });
    this.#ctx.onTransitions(transitions);
  }
}

/** A queued run's move to `to`: delivered (`running`) or refused (`failed`, with why). */
function leftQueue(
  run: RunsTable,
  to: 'running' | 'failed',
  why: { error?: string; code?: string } = {},
): EngineTransition {
  return { kind: 'run', runId: run.id, env: run.env, dagId: run.dag_id, from: 'queued', to, ...why };
}

/** The delivery row of `run`: what is the same in every state, plus that state's fields. */
function deliveryRow(
  run: RunsTable,
  remoteRunId: string,
  now: number,
  state: Pick<
    Database['airflow_runs'],
    'delivery_state' | 'attempts' | 'next_attempt_at' | 'last_error' | 'remote_state' | 'dag_version'
  >,
): Database['airflow_runs'] {
  return {
    run_id: run.id,
    env: run.env,
    dag_id: run.dag_id,
    remote_run_id: remoteRunId,
    cancel_sent: 0,
    updated_at: now,
    ...state,
  };
}

async function upsertAirflowRun(trx: Transaction<Database>, row: Database['airflow_runs']): Promise<void> {
  await trx
    .insertInto('airflow_runs')
    .values(row)
    .onConflict((oc) =>
      oc.column('run_id').doUpdateSet({
        delivery_state: row.delivery_state,
        attempts: row.attempts,
        next_attempt_at: row.next_attempt_at,
        last_error: row.last_error,
        remote_state: row.remote_state,
        dag_version: row.dag_version,
        updated_at: row.updated_at,
      }),
    )
    .execute();
}
