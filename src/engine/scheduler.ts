/**
 * The scheduler turns cron schedules into run requests. It submits them as `Service::"scheduler"`
 * through the engine's submitter (the gate, once it is wired), so policy allows schedules like anyone
 * else. Each tick carries a schedule key, unique per DAG, so a tick never makes two runs, even after
 * a restart or with two schedulers.
 *
 * Catchup is off by default: after downtime only the newest missed tick runs. With `catchup: true`
 * every missed tick runs. A DAG seen for the first time starts from now; it does not run the past.
 * @module
 */
import { type Principal, servicePrincipal } from '../identity/principal.ts';
import { AirclutchError, describeThrown } from '../lib/errors.ts';
import type { Db } from '../store/create-db.ts';
import { isUniqueViolation } from '../store/is-unique-violation.ts';
import {
  BACKFILL_PAGE,
  checkBackfillSize,
  cronOf,
  DEFAULT_MAX_BACKFILL_TICKS,
  ticksPage,
} from './backfill-ticks.ts';
import type { RunSubmitter } from './engine-types.ts';
import { type DagRow, syncDags } from './sql/sync-dags.ts';

/**
 * The most ticks one pass creates for one DAG with `catchup` (by default): a long outage of a
 * frequent schedule is caught up page by page (the next pass starts at once), never dropped.
 */
const MAX_TICKS_PER_PASS = 1_000;
/** The scheduler re-reads schedules at least this often, so DAG changes take effect. */
const MAX_SLEEP_MS = 30_000;

export interface SchedulerOptions {
  db: Db;
  submitter: () => RunSubmitter;
  listDags: () => readonly DagRow[];
  defaultMaxActiveRuns?: number;
  clock?: () => number;
  onError?: (e: Error) => void;
  /** The most ticks one pass creates for one catchup DAG (default 1,000); the next pass goes on at once. */
  maxTicksPerPass?: number;
}

export interface TickResult {
  readonly env: string;
  readonly dagId: string;
  readonly logicalDate: number;
  readonly runId: string | null;
  readonly outcome: string;
}

export class Scheduler {
  readonly #o: SchedulerOptions;
  readonly #now: () => number;
  readonly #perPass: number;
  #timer: NodeJS.Timeout | undefined;
  #stopped = true;
  #pass: Promise<TickResult[]> | undefined;
  /** A catchup DAG still has missed ticks after the last pass: the next one starts at once. */
  #behind = false;

  constructor(options: SchedulerOptions) {
    this.#o = options;
    this.#now = options.clock ?? Date.now;
    this.#perPass = options.maxTicksPerPass ?? MAX_TICKS_PER_PASS;
  }

  async start(): Promise<void> {
    this.#stopped = false;
    await this.#loop();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#pass;
  }

  async #loop(): Promise<void> {
    if (this.#stopped) return;
    try {
      await this.tick();
    } catch (e) {
      this.#o.onError?.(e as Error);
    }
    if (this.#stopped) return;
    const next = this.#behind ? this.#now() : this.nextWake();
    this.#timer = setTimeout(() => this.#loop(), Math.min(MAX_SLEEP_MS, Math.max(0, next - this.#now())));
  }

  /** The next time any schedule fires. */
  nextWake(): number {
    const now = new Date(this.#now());
    let next = Number.POSITIVE_INFINITY;
    for (const { dag } of this.#o.listDags()) {
      if (!dag.options.schedule) continue;
      const t = cronOf(dag.options.schedule, dag.options.timezone).nextRun(now)?.getTime();
      if (t !== undefined && t < next) next = t;
    }
    return next;
  }

  /** One pass: syncs DAG rows, then submits every tick due up to now. Returns what it submitted. */
  tick(): Promise<TickResult[]> {
    const pass = this.#tick();
    this.#pass = pass;
    return pass;
  }

  async #tick(): Promise<TickResult[]> {
    const now = this.#now();
    const dags = this.#o.listDags();
    const kysely = this.#o.db.kysely;
    await syncDags(kysely, dags, this.#o.defaultMaxActiveRuns ?? 16, now);
    const rows = await kysely
      .selectFrom('dags')
      .select(['env', 'dag_id', 'is_paused', 'last_scheduled_at'])
      .execute();
    const state = new Map(rows.map((r) => [`${r.env}/${r.dag_id}`, r]));
    const results: TickResult[] = [];
    this.#behind = false;
    for (const { env, dag } of dags) {
      const { schedule, timezone, catchup } = dag.options;
      const row = state.get(`${env}/${dag.id}`);
      if (!schedule || !row || row.is_paused) continue;
      if (row.last_scheduled_at === null) {
        await this.#moveCursor(env, dag.id, null, now);
        continue;
      }
      const due = catchup
        ? ticksPage(schedule, timezone, row.last_scheduled_at, now, this.#perPass)
        : newestTick(schedule, timezone, row.last_scheduled_at, now);
      if (due.length === 0) continue;
      if (due.length === this.#perPass) this.#behind = true;
      for (const t of due) results.push(await this.#submit(env, dag.id, t, 'schedule'));
      await this.#moveCursor(env, dag.id, row.last_scheduled_at, due.at(-1)!);
    }
    return results;
  }

  async #moveCursor(env: string, dagId: string, from: number | null, to: number): Promise<void> {
    let q = this.#o.db.kysely
      .updateTable('dags')
      .set({ last_scheduled_at: to })
      .where('env', '=', env)
      .where('dag_id', '=', dagId);
    q = from === null ? q.where('last_scheduled_at', 'is', null) : q.where('last_scheduled_at', '=', from);
    await q.execute();
  }

  async #submit(
    env: string,
    dagId: string,
    logicalDate: number,
    source: 'schedule' | 'backfill',
    params?: unknown,
    principal: Principal = servicePrincipal('scheduler'),
  ): Promise<TickResult> {
    try {
      const res = await this.#o.submitter().submit({
        env,
        dagId,
        params,
        source,
        principal,
        logicalDate,
        scheduleKey: new Date(logicalDate).toISOString(),
      });
      return { env, dagId, logicalDate, ...res };
    } catch (e) {
      if (isUniqueViolation(e)) return { env, dagId, logicalDate, runId: null, outcome: 'exists' };
      this.#o.onError?.(e as Error);
      return { env, dagId, logicalDate, runId: null, outcome: `error: ${describeThrown(e)}` };
    }
  }

  /**
   * Creates a run for every tick of the DAG's schedule in `[from, to]`, page after page, however many
   * (a range of more than `maxTicks` is refused before any run). Ticks that already have a run are
   * skipped, so a backfill can be repeated safely.
   */
  async backfill(
    env: string,
    dagId: string,
    from: number,
    to: number,
    params?: unknown,
    principal?: Principal,
    options: { maxTicks?: number } = {},
  ): Promise<TickResult[]> {
    const row = this.#o.listDags().find((d) => d.env === env && d.dag.id === dagId);
    if (!row) throw new AirclutchError('DAG_NOT_FOUND', `DAG ${dagId} is not loaded in environment ${env}`);
    const { schedule, timezone } = row.dag.options;
    if (!schedule) {
      throw new AirclutchError(
        'REQUEST_INVALID',
        `DAG ${dagId} has no schedule, so it has no ticks to backfill`,
      );
    }
    if (!(from <= to))
      throw new AirclutchError('REQUEST_INVALID', 'backfill range is empty: --from must be before --to');
    checkBackfillSize(schedule, timezone, from, to, options.maxTicks ?? DEFAULT_MAX_BACKFILL_TICKS);
    const results: TickResult[] = [];
    for (let after = from - 1; ; ) {
      const page = ticksPage(schedule, timezone, after, to, BACKFILL_PAGE);
      for (const t of page) results.push(await this.#submit(env, dagId, t, 'backfill', params, principal));
      if (page.length < BACKFILL_PAGE) return results;
      after = page.at(-1)!;
    }
  }
}

/** The newest fire time `t` of the schedule with `after < t <= until`, as a list of one (or none). */
export function newestTick(
  schedule: string,
  timezone: string | undefined,
  after: number,
  until: number,
): number[] {
  const cron = cronOf(schedule, timezone);
  let newest: number | undefined;
  for (let next = cron.nextRun(new Date(after)); next && next.getTime() <= until; next = cron.nextRun(next)) {
    newest = next.getTime();
  }
  return newest === undefined ? [] : [newest];
}
