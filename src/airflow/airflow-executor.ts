/**
 * The Airflow executor: runs of Airflow-backed environments execute in Airflow, not in process.
 * The gate creates the run row and its decision record as for any run; this executor's loop then
 * drives its parts, each in its own file:
 *
 * 1. the **deliverer** (`airflow-run-deliverer.ts`) sends each queued run to Airflow, retrying what
 *    cannot be delivered now, so a decision is never lost;
 * 2. the **follower** (`airflow-run-follower.ts`) polls delivered runs and their task instances and
 *    writes their transitions, copying task logs (`copy-task-log.ts`);
 * 3. the **cancel passer** (`pass-cancels.ts`) marks cancelled runs failed in Airflow;
 * 4. the **unpause deliverer** (`airflow-unpause-deliverer.ts`) unpauses the DAGs of approved
 *    unpause requests, retrying what Airflow fails to apply.
 *
 * @module
 */
import type { AuditLog } from '../audit/audit-types.ts';
import type { EngineHooks, EngineTransition } from '../engine/engine-types.ts';
import type { Db } from '../store/create-db.ts';
import type { RunsTable } from '../store/database.ts';
import type { CatalogDag } from './airflow-catalog.ts';
import type { AirflowEnvironment } from './airflow-environment.ts';
import { AirflowRunDeliverer } from './airflow-run-deliverer.ts';
import { AirflowRunFollower } from './airflow-run-follower.ts';
import { AirflowUnpauseDeliverer } from './airflow-unpause-deliverer.ts';
import type { ExecutorContext } from './executor-context.ts';
import { passCancels } from './pass-cancels.ts';

export interface AirflowExecutorOptions {
  readonly db: Db;
  /** env → its Airflow. */
  readonly environments: ReadonlyMap<string, AirflowEnvironment>;
  /** The remote DAG of a run, if Airflow has it now. */
  readonly remoteDag: (env: string, dagId: string) => CatalogDag | undefined;
  readonly hooks: EngineHooks;
  readonly audit: Pick<AuditLog, 'append'>;
  readonly now?: () => number;
  /** How often the loop looks for work (default 250 ms). */
  readonly tickMs?: number;
  /** First delay before a failed delivery is tried again; doubles, capped at 5 min (default 1 s). */
  readonly deliveryRetryMs?: number;
  /** Tries of an approved unpause before it is given up as failed (default 10). */
  readonly unpauseMaxAttempts?: number;
  /** A DAG was unpaused for an approved request (the catalogue refreshes). */
  readonly onUnpaused?: (env: string, dagId: string) => Promise<void>;
  /** Remote calls in flight at once (default 64). */
  readonly concurrency?: number;
  /** After a transaction committed: the engine turns them into events (`waitForRun`, chat). */
  readonly onTransitions?: (t: readonly EngineTransition[]) => void;
  readonly onError?: (e: Error) => void;
}

/**
 * @example
 * const executor = new AirflowExecutor({ db, environments, remoteDag, hooks, audit });
 * executor.start();
 * await executor.stop();
 */
export class AirflowExecutor {
  readonly #envs: readonly string[];
  readonly #tickMs: number;
  readonly #deliverer: AirflowRunDeliverer;
  readonly #follower: AirflowRunFollower;
  readonly #unpauses: AirflowUnpauseDeliverer;
  readonly #ctx: ExecutorContext;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #again = false;
  #stopped = true;
  /** Deliveries of rows the gate handed over (`wake(run)`), under way. */
  readonly #direct = new Set<Promise<void>>();

  constructor(o: AirflowExecutorOptions) {
    this.#envs = [...o.environments.keys()];
    this.#tickMs = o.tickMs ?? 250;
    this.#ctx = {
      db: o.db,
      environments: o.environments,
      now: o.now ?? Date.now,
      concurrency: o.concurrency ?? 64,
      // The run's lifecycle goes through the engine's audit hook, like a local run; bridge facts follow.
      async record(trx, transitions, events) {
        if (transitions.length) await o.hooks.onTransitions?.(trx, transitions);
        if (events.length) await o.audit.append(events, { trx });
      },
      onTransitions: (t) => o.onTransitions?.(t),
      onError: (e) => o.onError?.(e),
    };
    this.#follower = new AirflowRunFollower(this.#ctx);
    this.#deliverer = new AirflowRunDeliverer(this.#ctx, {
      remoteDag: o.remoteDag,
      retryMs: o.deliveryRetryMs ?? 1_000,
      onDelivered: (run) => this.#follower.track(run),
    });
    this.#unpauses = new AirflowUnpauseDeliverer(this.#ctx, {
      remoteDag: o.remoteDag,
      retryMs: o.deliveryRetryMs ?? 1_000,
      maxAttempts: o.unpauseMaxAttempts ?? 10,
      leaseMs: 300_000,
      ...(o.onUnpaused ? { onUnpaused: o.onUnpaused } : {}),
    });
  }

  /** True for runs this executor owns. */
  owns(run: { env: string }): boolean {
    return this.#ctx.environments.has(run.env);
  }

  start(): void {
    this.#stopped = false;
    this.#loop();
  }

  #loop = (): void => {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#again = false;
    this.#ticking = this.tick()
      .catch((e: unknown) => this.#ctx.onError(e as Error))
      .finally(() => {
        this.#ticking = undefined;
        if (this.#stopped) return;
        if (this.#again) this.#loop();
        else this.#timer = setTimeout(this.#loop, this.#tickMs);
      });
  };

  /**
   * A run was queued (the gate inserted or approved it): deliver it now rather than at the next
   * tick. During a tick, another follows at once. A whole decided row is delivered directly.
   */
  wake(run?: Pick<RunsTable, 'id' | 'env' | 'dag_id'>): void {
    if (this.#stopped) return;
    if (run && this.owns(run) && isDecidedRow(run)) {
      // The gate handed over the row it committed: deliver it now, without reading it back.
      const delivery: Promise<void> = this.#deliverer
        .deliverDecided(run)
        .finally(() => this.#direct.delete(delivery));
      this.#direct.add(delivery);
      return;
    }
    if (this.#ticking) this.#again = true;
    else this.#loop();
  }

  /**
   * Delivers one queued run the gate just committed (its whole row, decision and all), now. Public
   * so benchmarks and tests drive the path `wake` takes. Never throws.
   */
  async deliverDecided(run: RunsTable): Promise<void> {
    await this.#deliverer.deliverDecided(run);
  }

  /** Resolves when the tick under way (if any) and the direct deliveries under way have finished. */
  async settled(): Promise<void> {
    await this.#ticking;
    await Promise.all([...this.#direct]);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#ticking;
    await Promise.all([...this.#direct]);
  }

  /** Runs followed now. */
  get followedCount(): number {
    return this.#follower.count;
  }

  /**
   * One pass: deliver what is due, follow what is due, pass cancels on, unpause what was approved.
   * Public so tests drive it.
   */
  async tick(): Promise<void> {
    await this.deliverQueued();
    await this.followRunning();
    await this.passCancels();
    await this.deliverUnpauses();
  }

  /**
   * Unpauses the DAG of an approved unpause request now (the vote that approved it committed); a
   * failure Airflow may recover from is retried by later ticks. Records its result; never throws.
   */
  async unpauseApproved(approvalId: string, requestId?: string): Promise<void> {
    await this.#unpauses.deliverNow(approvalId, requestId);
  }

  /** Retries approved unpauses that are due, and takes up those a crash left untried. */
  async deliverUnpauses(): Promise<void> {
    await this.#unpauses.deliverDue(this.#envs);
  }

  /** Delivers the queued runs that are due (first try, or their retry time came). */
  async deliverQueued(): Promise<void> {
    await this.#deliverer.deliverDue(this.#envs);
  }

  /** Polls the running remote runs whose next poll is due. */
  async followRunning(): Promise<void> {
    await this.#follower.followDue(this.#envs);
  }

  /** Passes cancels of delivered runs on to Airflow. */
  async passCancels(): Promise<void> {
    await passCancels(this.#ctx, this.#envs);
  }
}

/** A whole `runs` row, queued, with the decision that created it: what the gate commits for a trigger. */
function isDecidedRow(run: Partial<RunsTable>): run is RunsTable {
  return (
    run.state === 'queued' &&
    typeof run.decision_seq === 'number' &&
    typeof run.params === 'string' &&
    typeof run.dag_version === 'string' &&
    typeof run.requested_by === 'string'
  );
}
