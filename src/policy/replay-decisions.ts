/**
 * Policy replay: re-decides audited decisions (triggers, break-glass, votes, cancels) under the
 * policies loaded now, and lists every one that would change, so a policy change can be checked
 * against what really happened before it ships (`airclutch policy replay --since 7d`).
 * @module
 */
import type { AuditRow } from '../audit/audit-hash.ts';
import { rowToRecord } from '../audit/audit-row.ts';
import type { AuditRecord } from '../audit/audit-types.ts';
import { whereAudit, windowStart } from '../audit/query-audit.ts';
import { principalRef } from '../identity/principal.ts';
import type { Db } from '../store/create-db.ts';
import { decideTrigger } from './decide-trigger.ts';
import type { PolicyEngine } from './policy-engine.ts';
import { actorRef, type ReplayLookups, rebuildRequest, unreplayableBecause } from './replay-request.ts';

/** The audit actions that record a policy decision. */
export const REPLAYED_ACTIONS = ['trigger', 'breakGlass', 'approve', 'deny', 'review', 'cancel'] as const;

/** A decision's effect: a trigger has three outcomes, every other action allow or deny. */
export type ReplayEffect = 'allow' | 'approval' | 'deny';

/** Which audited decision, in words. */
export interface ReplayedRecord {
  readonly seq: number;
  /** Epoch ms of the record. */
  readonly ts: number;
  readonly actor: string;
  readonly action: string;
  /** `dev/revenue`, plus the run and approval request when there is one. */
  readonly resource: string;
  readonly recorded: ReplayEffect;
}

/** A decision that would change. */
export interface ChangedDecision extends ReplayedRecord {
  readonly replayed: ReplayEffect;
  /** Determining policies of the new decision. */
  readonly policies: readonly string[];
  readonly reasons: readonly string[];
}

/** A decision that cannot be re-decided from what the trail keeps. */
export interface UnreplayableDecision extends ReplayedRecord {
  readonly why: string;
}

export interface ReplayReport {
  /** Decision records in the window. */
  readonly examined: number;
  readonly unchanged: number;
  readonly changed: readonly ChangedDecision[];
  readonly notReplayable: readonly UnreplayableDecision[];
}

export interface ReplayWindow {
  /** Epoch ms, inclusive. */
  readonly since: number;
  /** Epoch ms, exclusive; default: no end. */
  readonly until?: number | undefined;
}

const PAGE = 500;

/**
 * Replays the decisions recorded in the window under `engine`'s current policies.
 *
 * @example
 * await store.load(); // the working tree's policies
 * const report = await replayDecisions(db, new CedarPolicyEngine(store), { since: Date.now() - 7 * 86_400_000 });
 * for (const c of report.changed) console.log(c.seq, c.recorded, '→', c.replayed, c.policies);
 */
export async function replayDecisions(
  db: Db,
  engine: PolicyEngine,
  window: ReplayWindow,
): Promise<ReplayReport> {
  const changed: ChangedDecision[] = [];
  const notReplayable: UnreplayableDecision[] = [];
  let examined = 0;
  let afterSeq = await windowStart(db, window);
  for (;;) {
    const filters = { since: window.since, until: window.until, afterSeq };
    const rows = (await whereAudit(db, db.kysely.selectFrom('audit_records').selectAll(), filters)
      .where('action', 'in', [...REPLAYED_ACTIONS])
      .where('decision', 'is not', null)
      .orderBy('seq')
      .limit(PAGE)
      .execute()) as AuditRow[];
    const records = rows.map(rowToRecord).filter((r) => recordedEffect(r) !== undefined);
    const lookups = await lookupsFor(db, records);
    for (const record of records) {
      examined++;
      const result = replayOne(engine, record, lookups);
      if (result === 'unchanged') continue;
      if ('why' in result) notReplayable.push(result);
      else changed.push(result);
    }
    if (rows.length < PAGE) break;
    afterSeq = Number(rows.at(-1)!.seq);
  }
  return { examined, unchanged: examined - changed.length - notReplayable.length, changed, notReplayable };
}

function replayOne(
  engine: PolicyEngine,
  record: AuditRecord,
  lookups: ReplayLookups,
): ChangedDecision | UnreplayableDecision | 'unchanged' {
  const recorded = recordedEffect(record)!;
  const r = record.resource;
  const base: ReplayedRecord = {
    seq: record.seq,
    ts: record.ts,
    actor: actorRef(record),
    action: record.action,
    resource: [
      `${r?.env}/${r?.dagId}`,
      r?.runId ? `run ${r.runId}` : '',
      r?.approvalId ? `approval ${r.approvalId}` : '',
    ]
      .filter(Boolean)
      .join(' '),
    recorded,
  };
  const rebuilt = rebuildRequest(record, lookups);
  if (!rebuilt.ok) return { ...base, why: rebuilt.why };
  const { request } = rebuilt;
  const why =
    unreplayableBecause(engine, request) ??
    (record.action === 'trigger'
      ? unreplayableBecause(engine, { ...request, action: 'requestTrigger' })
      : undefined);
  if (why) return { ...base, why };
  let replayed: ReplayEffect;
  let decision: { policies: readonly string[]; reasons: readonly string[]; errors: readonly string[] };
  if (record.action === 'trigger') {
    const t = decideTrigger(engine, request);
    replayed = t.outcome;
    decision = t.decision;
  } else {
    const d = engine.decide(request);
    replayed = d.effect === 'allow' ? 'allow' : 'deny';
    decision = d;
  }
  if (replayed === recorded) return 'unchanged';
  return {
    ...base,
    replayed,
    policies: decision.policies,
    reasons: [...decision.reasons, ...decision.errors.map((e) => `error: ${e}`)],
  };
}

/** The effect a record kept; undefined for records without a policy decision (a refused bad request). */
function recordedEffect(record: AuditRecord): ReplayEffect | undefined {
  if (!record.decision) return undefined;
  if (record.action === 'trigger') {
    if (record.outcome === 'started') return 'allow';
    if (record.outcome === 'awaiting_approval') return 'approval';
    if (record.outcome === 'denied') return 'deny';
    return undefined;
  }
  if (record.decision.effect === 'allow') return 'allow';
  if (record.decision.effect === 'deny') return 'deny';
  return undefined;
}

async function lookupsFor(db: Db, records: readonly AuditRecord[]): Promise<ReplayLookups> {
  const runIds = [...new Set(records.flatMap((r) => (r.resource?.runId ? [r.resource.runId] : [])))];
  const approvalIds = [
    ...new Set(records.flatMap((r) => (r.resource?.approvalId ? [r.resource.approvalId] : []))),
  ];
  const runs = runIds.length
    ? await db.kysely
        .selectFrom('runs')
        .select(['id', 'params', 'requested_by_kind', 'requested_by'])
        .where('id', 'in', runIds)
        .execute()
    : [];
  const approvals = approvalIds.length
    ? await db.kysely
        .selectFrom('approval_requests')
        .select(['id', 'requested_by_kind', 'requested_by'])
        .where('id', 'in', approvalIds)
        .execute()
    : [];
  const ref = (kind: string, id: string) => principalRef({ kind: kind as 'user' | 'service', id });
  return {
    runs: new Map(
      runs.map((r) => [r.id, { params: r.params, requestedBy: ref(r.requested_by_kind, r.requested_by) }]),
    ),
    approvals: new Map(
      approvals.map((a) => [a.id, { requestedBy: ref(a.requested_by_kind, a.requested_by) }]),
    ),
  };
}
