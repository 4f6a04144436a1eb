/**
 * Carries out approved unpause requests (`requestUnpause`, then enough approvals): `PATCH …/dags/{id}`
 * with `is_paused: false`, which is idempotent, so a try whose answer was lost is simply made again.
 *
 * The approved request is the durable to-do: its delivery row (`dag_action_deliveries`) is claimed
 * with a conditional update before each try, so one process tries it at a time, and a request
 * approved just before a crash (no row yet) is picked up by the next tick. Each try is an audit
 * record in the transaction that moves the row:
 *
 * - `airflow.unpause: unpaused`: Airflow took it (`done`);
 * - `airflow.unpause: retrying`: Airflow down, slow, 5xx or auth: tried again with backoff
 *   (doubling from `retryMs`, capped at 5 min) up to `maxAttempts` tries;
 * - `airflow.unpause: failed`: Airflow refused (403, 404, 400), the DAG changed or went away since
 *   the request, or the last try failed. The DAG stays paused: ask again.
 * @module
 */

import { AirclutchError, describeThrown } from '../lib/errors.ts';
import type { ApprovalRequestsTable, DagActionDeliveriesTable } from '../store/database.ts';
import type { CatalogDag } from './airflow-catalog.ts';
import { BRIDGE_ACTOR, type ExecutorContext } from './executor-context.ts';
import { inParallel } from './in-parallel.ts';

export interface AirflowUnpauseDelivererOptions {
  /** The remote DAG, if Airflow has it now. */
  readonly remoteDag: (env: string, dagId: string) => CatalogDag | undefined;
  /** First delay before a failed try is made again; doubles, capped at 5 min. */
  readonly retryMs: number;
  /** Tries before the request's unpause is given up as failed. */
  readonly maxAttempts: number;
  /** How long a claimed try may take before another tick may claim it again. */
  readonly leaseMs: number;
  /** The DAG was unpaused: the catalogue shows it at once rather than at its next refresh. */
  readonly onUnpaused?: (env: string, dagId: string) => Promise<void>;
}

type Request = Pick<ApprovalRequestsTable, 'id' | 'env' | 'dag_id' | 'dag_version' | 'params_hash'>;

/**
 * @example
 * const unpauses = new AirflowUnpauseDeliverer(ctx, { remoteDag, retryMs: 1_000, maxAttempts: 10, leaseMs: 300_000 });
 * await unpauses.deliverNow(approval.id, requestId); // when the approving vote committed
 * await unpauses.deliverDue(['prod']);               // each tick: retries, and requests a crash left
 */
export class AirflowUnpauseDeliverer {
  readonly #ctx: ExecutorContext;
  readonly #o: AirflowUnpauseDelivererOptions;

  constructor(ctx: ExecutorContext, options: AirflowUnpauseDelivererOptions) {
    this.#ctx = ctx;
    this.#o = options;
  }

  /** Tries an approved request's unpause now (the vote that approved it committed). Never throws. */
  async deliverNow(approvalId: string, requestId?: string): Promise<void> {
    const [first] = await this.#due({ id: approvalId });
    if (first) await this.#claimAndTry(first, requestId).catch((e: unknown) => this.#ctx.onError(e as Error));
  }

  /** Tries the approved unpauses that are due: never tried (a crash after the vote), or retry time. */
  async deliverDue(envs: readonly string[]): Promise<void> {
    if (!envs.length) return;
    const rows = await this.#due({ envs });
    await inParallel(rows, this.#ctx.concurrency, (r) =>
      this.#claimAndTry(r).catch((e: unknown) => this.#ctx.onError(e as Error)),
    );
  }

  /** Approved unpause requests with no delivery yet, or whose retry time came. */
  #due(where: { id: string } | { envs: readonly string[] }) {
    const now = this.#ctx.now();
    let q = this.#ctx.db.kysely
      .selectFrom('approval_requests as a')
      .leftJoin('dag_action_deliveries as d', 'd.approval_id', 'a.id')
      .select([
        'a.id',
        'a.env',
        'a.dag_id',
        'a.dag_version',
        'a.params_hash',
        'd.attempts',
        'd.state as delivery',
      ])
      .where('a.action', '=', 'unpause')
      .where('a.state', '=', 'approved')
      .where((w) =>
        w.or([
          w('d.approval_id', 'is', null),
          w.and([w('d.state', '=', 'pending'), w('d.next_attempt_at', '<=', now)]),
        ]),
      );
    q = 'id' in where ? q.where('a.id', '=', where.id) : q.where('a.env', 'in', where.envs);
    return q.orderBy('a.decided_at').limit(100).execute();
  }

  /** Claims the request's next try (one process at a time), then makes it. */
  async #claimAndTry(
    r: Request & { attempts: number | null; delivery: DagActionDeliveriesTable['state'] | null },
    requestId?: string,
  ): Promise<void> {
    const now = this.#ctx.now();
    const q = this.#ctx.db.kysely;
    const leased = now + this.#o.leaseMs;
    let claimed: boolean;
    if (r.delivery === null) {
      const res = await q
        .insertInto('dag_action_deliveries')
        .values({
          approval_id: r.id,
          action: 'unpause',
          env: r.env,
          dag_id: r.dag_id,
          state: 'pending',
          attempts: 0,
          next_attempt_at: leased,
          last_error: null,
          updated_at: now,
        })
        .onConflict((oc) => oc.column('approval_id').doNothing())
        .executeTakeFirst();
      claimed = Number(res.numInsertedOrUpdatedRows ?? 0) === 1;
    } else {
      const res = await q
        .updateTable('dag_action_deliveries')
        .set({ next_attempt_at: leased, updated_at: now })
        .where('approval_id', '=', r.id)
        .where('state', '=', 'pending')
        .where('next_attempt_at', '<=', now)
        .executeTakeFirst();
      claimed = Number(res.numUpdatedRows) === 1;
    }
    if (claimed) await this.#try(r, (r.attempts ?? 0) + 1, requestId);
  }

  async #try(r: Request, attempt: number, requestId?: string): Promise<void> {
    const current = this.#o.remoteDag(r.env, r.dag_id)?.version;
    if (current !== r.dag_version) {
      const what = current ? `changed since the request (now version ${current})` : 'is gone from Airflow';
      await this.#settle(
        r,
        attempt,
        'failed',
        `DAG ${r.env}/${r.dag_id} ${what}: not unpaused; ask again`,
        requestId,
      );
      return;
    }
    const client = this.#ctx.environments.get(r.env)?.client;
    if (!client) return;
    try {
      await client.setPaused(r.dag_id, false);
    } catch (e) {
      const error = describeThrown(e);
      if (e instanceof AirclutchError && e.code === 'AIRFLOW_REFUSED') {
        await this.#settle(r, attempt, 'failed', `${error}; not unpaused; ask again`, requestId);
      } else if (attempt >= this.#o.maxAttempts) {
        await this.#settle(
          r,
          attempt,
          'failed',
          `failed after ${attempt} tries: ${error}; not unpaused; ask again`,
          requestId,
        );
      } else {
        await this.#retryLater(r, attempt, error, requestId);
      }
      return;
    }
    if (await this.#settle(r, attempt, 'done', null, requestId)) await this.#o.onUnpaused?.(r.env, r.dag_id);
  }

  /** Ends the delivery (`done` or `failed`) with its audit record, if it is still pending. */
  async #settle(
    r: Request,
    attempt: number,
    state: 'done' | 'failed',
    error: string | null,
    requestId?: string,
  ): Promise<boolean> {
    const now = this.#ctx.now();
    return this.#ctx.db.kysely.transaction().execute(async (trx) => {
      const res = await trx
        .updateTable('dag_action_deliveries')
        .set({ state, attempts: attempt, next_attempt_at: null, last_error: error, updated_at: now })
        .where('approval_id', '=', r.id)
        .where('state', '=', 'pending')
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) return false;
      await this.#ctx.record(
        trx,
        [],
        [
          this.#event(r, state === 'done' ? 'unpaused' : 'failed', requestId, {
            attempt,
            ...(error ? { error } : {}),
          }),
        ],
      );
      return true;
    });
  }

  async #retryLater(r: Request, attempt: number, error: string, requestId?: string): Promise<void> {
    const now = this.#ctx.now();
    const next = now + Math.min(300_000, this.#o.retryMs * 2 ** Math.min(attempt - 1, 20));
    await this.#ctx.db.kysely.transaction().execute(async (trx) => {
      const res = await trx
        .updateTable('dag_action_deliveries')
        .set({ attempts: attempt, next_attempt_at: next, last_error: error, updated_at: now })
        .where('approval_id', '=', r.id)
        .where('state', '=', 'pending')
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) return;
      await this.#ctx.record(
        trx,
        [],
        [
          this.#event(r, 'retrying', requestId, {
            attempt,
            maxAttempts: this.#o.maxAttempts,
            nextAttemptAt: next,
            error,
          }),
        ],
      );
    });
  }

  #event(r: Request, outcome: string, requestId: string | undefined, details: Record<string, unknown>) {
    return {
      action: 'airflow.unpause',
      actor: BRIDGE_ACTOR,
      resource: { env: r.env, dagId: r.dag_id, dagVersion: r.dag_version, approvalId: r.id },
      source: 'bridge',
      paramsHash: r.params_hash,
      ...(requestId ? { requestId } : {}),
      outcome,
      details,
    };
  }
}
