/**
 * The gate: the one function every path that starts or changes a run goes through. It validates the
 * request, asks Cedar, writes the decision to the audit trail in the same transaction as the change
 * (no record, no action), and only then lets the engine act. Refusals are recorded too, and the
 * error says what to fix: which params field, which policy.
 *
 * @example
 * const gate = new Gate({ db, engine, dags: registry, policy, audit, config });
 * engine.setSubmitter(gate.submitter());
 * const result = await gate.trigger({ principal, source: 'api', requestId }, { dagId: 'nightly_revenue', params });
 * @module
 */
import { EventEmitter } from 'node:events';
import type { Transaction } from 'kysely';
import { createApprovalRequest, type NewApprovalRequest } from '../approvals/approval-store.ts';
import { actorOf } from '../audit/actor-of.ts';
import type { AuditEvent, AuditLog } from '../audit/audit-types.ts';
import type { AirclutchConfig } from '../config/config-schema.ts';
import type { Engine } from '../engine/engine.ts';
import type { DagSource, RunRequest, RunSubmitter, SourcedDag } from '../engine/engine-types.ts';
import { insertRun, type NewRun } from '../engine/sql/insert-run.ts';
import { setDecision } from '../engine/sql/set-decision.ts';
import { principalRef } from '../identity/principal.ts';
import { AirclutchError, isAirclutchError } from '../lib/errors.ts';
import type { RequestSource } from '../policy/cedar-names.ts';
import { decideTrigger } from '../policy/decide-trigger.ts';
import type { Decision, PolicyEngine, PolicyRequest } from '../policy/policy-engine.ts';
import type { Db } from '../store/create-db.ts';
import type { Database } from '../store/database.ts';
import { WriteBatcher } from '../store/write-batcher.ts';
import { auditDecision } from './audit-events.ts';
import { dagNotFound, mayReveal, refusalOf } from './dag-visibility.ts';
import type { ApprovalView, GateContext, TriggerInput, TriggerResult } from './gate-types.ts';
import { toRunView } from './views.ts';

const DEFAULT_QUORUM = 1;
const DEFAULT_EXPIRY_MS = 24 * 3_600_000;

export interface GateOptions {
  readonly db: Db;
  readonly engine: Engine;
  readonly dags: DagSource;
  readonly policy: PolicyEngine;
  readonly audit: AuditLog;
  readonly config: Pick<AirclutchConfig, 'defaultEnv' | 'environments'>;
  readonly clock?: () => number;
}

export interface GateEvents {
  /** A run now waits for approval: chat notifications hang off this. */
  /** A request opened: for a run (`run` set), or for a DAG action such as an Airflow unpause (`run` null). */
  approvalRequested: [
    { run: TriggerResult['run'] | null; approval: ApprovalView; reasons: readonly string[] },
  ];
  /** An approval request closed: approved, denied, expired or reviewed. */
  approvalClosed: [{ approval: ApprovalView; state: string }];
}

export class Gate extends EventEmitter<GateEvents> {
  readonly db: Db;
  readonly engine: Engine;
  readonly dags: DagSource;
  readonly policy: PolicyEngine;
  readonly audit: AuditLog;
  readonly config: GateOptions['config'];
  readonly now: () => number;
  /** Gate writes (a decision's record with its change) share commits when they arrive together. */
  readonly writes: WriteBatcher;
  /**
   * What to do once a DAG action's approval request (not a run's) is approved, by action: the
   * Airflow bridge registers `unpause`. The handler records its own result and never throws.
   */
  readonly dagActions = new Map<string, (approval: ApprovalView, ctx: GateContext) => Promise<void>>();

  constructor(options: GateOptions) {
    super();
    this.db = options.db;
    this.writes = new WriteBatcher(options.db);
    this.engine = options.engine;
    this.dags = options.dags;
    this.policy = options.policy;
    this.audit = options.audit;
    this.config = options.config;
    this.now = options.clock ?? Date.now;
  }

  /** The environment a request names, or the default one. */
  envOf(env: string | undefined): string {
    return env ?? this.config.defaultEnv;
  }

  /**
   * Starts a DAG: `started` when policy allows it now, `awaiting_approval` when it allows a request
   * for approval. Throws `POLICY_DENIED` (naming the policies and what would allow it),
   * `PARAMS_INVALID` (every violation) or `DAG_NOT_FOUND` (near matches); each refusal is recorded.
   */
  async trigger(ctx: GateContext, input: TriggerInput): Promise<TriggerResult> {
    const env = this.envOf(input.env);
    const { found, run } = await this.#prepare(ctx, 'trigger', env, input);
    const params = JSON.parse(run.params) as Record<string, unknown>;
    const request: Omit<PolicyRequest, 'action'> = {
      principal: ctx.principal,
      resource: { kind: 'dag', env, dagId: input.dagId },
      context: { params, now: new Date(this.now()), source: ctx.source },
    };
    const { outcome, decision, decisions } = decideTrigger(this.policy, request);
    const base = this.#event(ctx, 'trigger', env, found, run, params);
    if (outcome === 'deny') {
      await this.#recordRefusal({ ...base, decision: auditDecision('deny', decision), outcome: 'denied' });
      if (!(await mayReveal(this, ctx, 'trigger', found))) throw dagNotFound(this, ctx, env, input.dagId);
      throw this.denied('trigger', `${env}/${input.dagId}`, { ...request, action: 'trigger' }, decision);
    }
    if (outcome === 'allow') {
      const decided = await this.writes.run(async (trx) => {
        // The decision record first: the run row names it, and the executor starts no run without one.
        const [record] = await this.audit.append(
          [{ ...base, decision: auditDecision('allow', decision), outcome: 'started' }],
          { trx },
        );
        const row: NewRun = { ...run, decision_seq: record!.seq };
        await insertRun(trx, row);
        return row;
      });
      // The committed row: an executor can start it without reading it back.
      this.engine.notify(decided);
      return { outcome: 'started', run: toRunView(run, this.dags), decision };
    }
    const rule = this.approvalRule(env, found);
    // Why approval is needed: the forbid that stopped the trigger (if one did), then the permit to ask.
    const reasons = [
      ...(decisions.trigger.policies.length ? decisions.trigger.reasons : []),
      ...decision.reasons,
    ];
    const waiting: NewRun = { ...run, state: 'awaiting_approval' };
    const approval = await this.writes.run(async (trx) => {
      const a = await this.#insertWithRequest(trx, waiting, ctx, {
        kind: 'approval',
        quorum: rule.quorum,
        reason: reasons.join('; ') || null,
        expiresAt: this.now() + rule.expiresAfterMs,
      });
      const records = await this.audit.append(
        [
          {
            ...base,
            resource: { ...base.resource, approvalId: a.id },
            decision: auditDecision('needs_approval', decision),
            outcome: 'awaiting_approval',
            details: { quorum: a.quorum, expiresAt: a.expires_at },
          },
        ],
        { trx },
      );
      await setDecision(trx, waiting.id, records);
      return a;
    });
    const view = { ...approval, votes: [] };
    const runView = toRunView(waiting, this.dags);
    this.emit('approvalRequested', { run: runView, approval: view, reasons });
    return { outcome: 'awaiting_approval', run: runView, approval: view, decision };
  }

  /**
   * On-call starts a run at once, whatever the trigger policies say, if Cedar allows `breakGlass`.
   * The run is flagged, and a review request stays pending until someone eligible reviews it.
   */
  async breakGlass(
    ctx: GateContext,
    input: TriggerInput & { reason: string },
  ): Promise<{ run: TriggerResult['run']; review: ApprovalView }> {
    if (!input.reason?.trim()) {
      throw new AirclutchError(
        'REQUEST_INVALID',
        'break-glass needs a reason: say why the run cannot wait for approval',
      );
    }
    const env = this.envOf(input.env);
    const { found, run } = await this.#prepare(ctx, 'breakGlass', env, input);
    const params = JSON.parse(run.params) as Record<string, unknown>;
    const request: PolicyRequest = {
      principal: ctx.principal,
      action: 'breakGlass',
      resource: { kind: 'dag', env, dagId: input.dagId },
      context: { params, now: new Date(this.now()), source: ctx.source },
    };
    const decision = this.policy.decide(request);
    const base = {
      ...this.#event(ctx, 'breakGlass', env, found, run, params),
      details: { reason: input.reason },
    };
    if (decision.effect !== 'allow') {
      await this.#recordRefusal({ ...base, decision: auditDecision('deny', decision), outcome: 'denied' });
      if (!(await mayReveal(this, ctx, 'breakGlass', found))) throw dagNotFound(this, ctx, env, input.dagId);
      throw this.denied('breakGlass', `${env}/${input.dagId}`, request, decision);
    }
    const flagged: NewRun = { ...run, break_glass: 1, note: input.note ?? input.reason };
    const review = await this.writes.run(async (trx) => {
      const r = await this.#insertWithRequest(trx, flagged, ctx, {
        kind: 'review',
        quorum: 1,
        reason: `break-glass: ${input.reason}`,
        expiresAt: null,
      });
      const records = await this.audit.append(
        [
          {
            ...base,
            resource: { ...base.resource, approvalId: r.id },
            decision: auditDecision('allow', decision),
            outcome: 'started',
          },
        ],
        { trx },
      );
      await setDecision(trx, flagged.id, records);
      return r;
    });
    this.engine.notify(flagged);
    return { run: toRunView(flagged, this.dags), review: { ...review, votes: [] } };
  }

  /** A `RunSubmitter` for the engine's own principals (schedules, DAG-to-DAG): they pass the gate too. */
  submitter(): RunSubmitter {
    return {
      submit: (req) => {
        const source: RequestSource = req.source === 'backfill' ? 'schedule' : (req.source as RequestSource);
        const requestId = `${req.source}:${req.scheduleKey ?? Date.now()}`;
        return this.#submit({ principal: req.principal, source, requestId }, req);
      },
    };
  }

  /** A `RunSubmitter` that starts every request as `ctx`: a person's backfill, decided for that person. */
  submitterAs(ctx: GateContext): RunSubmitter {
    return {
      submit: (req) => this.#submit({ ...ctx, requestId: `${ctx.requestId}:${req.scheduleKey ?? ''}` }, req),
    };
  }

  async #submit(ctx: GateContext, req: RunRequest): Promise<{ runId: string; outcome: string }> {
    const result = await this.trigger(ctx, {
      env: req.env,
      dagId: req.dagId,
      params: req.params,
      note: req.note,
      logicalDate: req.logicalDate,
      scheduleKey: req.scheduleKey,
    });
    return { runId: result.run.id, outcome: result.outcome };
  }

  /** A refusal that names the determining policies, the reasons, and what would allow the request. */
  denied(action: string, target: string, request: PolicyRequest, decision: Decision): AirclutchError {
    const explanation = this.policy.explain(request);
    const why = decision.reasons.length
      ? decision.reasons.join('; ')
      : 'no policy permits it (deny by default)';
    const parts = [
      `${principalRef(request.principal)} may not ${action} ${target}: ${why}`,
      decision.policies.length ? `determining policies: ${decision.policies.join(', ')}` : '',
      decision.errors.length ? `policy errors: ${decision.errors.join('; ')}` : '',
      explanation.wouldAllow.length ? `what would allow it: ${explanation.wouldAllow.join('; ')}` : '',
    ].filter(Boolean);
    return new AirclutchError('POLICY_DENIED', parts.join('. '), {
      details: {
        action,
        policies: decision.policies,
        reasons: decision.reasons,
        errors: decision.errors,
        wouldAllow: explanation.wouldAllow,
      },
    });
  }

  /**
   * Validates the DAG and params; a refusal here is recorded before it is thrown. A caller who may
   * neither view the DAG nor do `action` with it gets the same `DAG_NOT_FOUND` as for a missing DAG,
   * whatever went wrong: params errors would name its fields. Only failures pay for that check.
   */
  async #prepare(
    ctx: GateContext,
    action: 'trigger' | 'breakGlass',
    env: string,
    input: TriggerInput,
  ): Promise<{ found: SourcedDag; run: NewRun }> {
    try {
      const found = this.dags.get(env, input.dagId);
      const run = await this.engine.prepareRun({
        env,
        dagId: input.dagId,
        params: input.params,
        source: ctx.source,
        principal: ctx.principal,
        note: input.note,
        logicalDate: input.logicalDate,
        scheduleKey: input.scheduleKey,
      });
      return { found, run };
    } catch (e) {
      if (!isAirclutchError(e)) throw e;
      const found = this.dags.find(env, input.dagId);
      const hidden = found !== undefined && !(await mayReveal(this, ctx, action, found));
      const answer = hidden || !found ? dagNotFound(this, ctx, env, input.dagId) : e;
      await this.#recordRefusal(refusalOf(ctx, action, env, input.dagId, answer, hidden));
      throw answer;
    }
  }

  #event(
    ctx: GateContext,
    action: string,
    env: string,
    found: SourcedDag,
    run: NewRun,
    params: Record<string, unknown>,
  ): AuditEvent {
    return {
      action,
      actor: actorOf(ctx.principal),
      resource: { env, dagId: run.dag_id, dagVersion: found.version, runId: run.id },
      source: ctx.source,
      requestId: ctx.requestId,
      paramsHash: run.params_hash,
      params,
      paramsSchema: found.dag.paramsJsonSchema,
    };
  }

  /**
   * Records a refusal outside any transaction, so that it is not rolled back with the refused change
   * (votes the approvals store refuses use it too).
   */
  recordRefusal(event: AuditEvent): Promise<void> {
    return this.#recordRefusal(event);
  }

  /** Records a refusal. The refusal stands even when the trail is down; that failure is reported. */
  async #recordRefusal(event: AuditEvent): Promise<void> {
    try {
      await this.audit.append([event]);
    } catch (e) {
      process.emitWarning(`audit record of a refusal could not be written: ${(e as Error).message}`);
    }
  }

  /** Inserts a run with the approval (or review) request bound to its params hash and DAG version. */
  async #insertWithRequest(
    trx: Transaction<Database>,
    run: NewRun,
    ctx: GateContext,
    request: Pick<NewApprovalRequest, 'kind' | 'quorum' | 'reason' | 'expiresAt'>,
  ) {
    await insertRun(trx, run);
    return createApprovalRequest(
      trx,
      {
        ...request,
        runId: run.id,
        env: run.env,
        dagId: run.dag_id,
        dagVersion: run.dag_version,
        paramsHash: run.params_hash,
        requestedBy: ctx.principal,
      },
      this.now(),
    );
  }

  /** Quorum and expiry of an approval request for a DAG: the DAG's rule, else its environment's. */
  approvalRule(env: string, found: SourcedDag): { quorum: number; expiresAfterMs: number } {
    const envRule = this.config.environments[env]?.approvals;
    const dagRule = found.dag.options.approvals;
    return {
      quorum: dagRule?.quorum ?? envRule?.quorum ?? DEFAULT_QUORUM,
      expiresAfterMs: dagRule?.expiresAfterMs ?? envRule?.expiresAfterMs ?? DEFAULT_EXPIRY_MS,
    };
  }

  /** Runs `fn` in a transaction with the audit records it returns appended in it. */
  async recorded<T>(
    fn: (trx: Transaction<Database>) => Promise<{ value: T; events: AuditEvent[] }>,
  ): Promise<T> {
    return this.writes.run(async (trx) => {
      const { value, events } = await fn(trx);
      if (events.length) await this.audit.append(events, { trx });
      return value;
    });
  }
}
