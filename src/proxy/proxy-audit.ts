/**
 * The audit records of proxied calls: who, which operation, which resource, the decision and
 * Airflow's status. Writes and refusals are recorded one by one (a write's decision before Airflow
 * is asked: no record, no call). Reads are recorded as configured: each one, a sample, or aggregated
 * per caller, operation, decision and status per window (the `RefusalRecorder` pattern), so a busy
 * dashboard does not flood the trail. Request body values are kept as HMACs, never in plaintext.
 * @module
 */
import { randomInt } from 'node:crypto';
import { actorOf } from '../audit/actor-of.ts';
import type { AuditDecision, AuditEvent, AuditLog, AuditResource } from '../audit/audit-types.ts';
import type { Principal } from '../identity/principal.ts';
import type { ProxyConfig } from './proxy-config.ts';

/** One proxied call, as recorded. */
export interface ProxyCall {
  readonly principal: Principal;
  readonly operationId: string;
  readonly method: string;
  readonly resource: AuditResource;
  readonly requestId: string;
  readonly source: string;
  /** The path parameters as sent (ids, never secrets). */
  readonly pathParams?: Readonly<Record<string, string>> | undefined;
  readonly decision?: AuditDecision | undefined;
  /** `allowed`, `denied`, `awaiting_approval`, or Airflow's answer (`airflow 200`). */
  readonly outcome: string;
  /** Airflow's status, once it answered. */
  readonly airflowStatus?: number | undefined;
  /** Body fields worth keeping for correlation: stored as HMACs. */
  readonly secrets?: Record<string, string> | undefined;
  readonly details?: Record<string, unknown> | undefined;
}

interface Bucket {
  event: AuditEvent;
  count: number;
  first: number;
  last: number;
}

export const PROXY_ACTION = 'airflow.proxy';

export class ProxyAudit {
  readonly #audit: AuditLog;
  readonly #cfg: ProxyConfig['auditReads'];
  readonly #now: () => number;
  #buckets = new Map<string, Bucket>();
  #timer: NodeJS.Timeout | undefined;

  constructor(audit: AuditLog, cfg: ProxyConfig['auditReads'], now: () => number = Date.now) {
    this.#audit = audit;
    this.#cfg = cfg;
    this.#now = now;
  }

  /** Appends the record now; throws when the trail cannot take it (callers fail closed). */
  async record(call: ProxyCall): Promise<void> {
    await this.#audit.append([eventOf(call)]);
  }

  /** Records a refusal; the refusal stands even when the trail is down (that is reported). */
  async refusal(call: ProxyCall): Promise<void> {
    try {
      await this.record(call);
    } catch (e) {
      process.emitWarning(`audit record of a proxy refusal could not be written: ${(e as Error).message}`);
    }
  }

  /** Records an allowed read as configured: each, sampled, or counted into its window's record. */
  async read(call: ProxyCall): Promise<void> {
    switch (this.#cfg.mode) {
      case 'all':
        return this.record(call);
      case 'sample':
        if (randomInt(1_000_000) < this.#cfg.sampleRate * 1_000_000)
          return this.record({ ...call, details: { ...call.details, sampled: this.#cfg.sampleRate } });
        return;
      case 'aggregate':
        this.#count(call);
        return;
      default: {
        const never: never = this.#cfg.mode;
        throw new TypeError(`unknown audit mode ${String(never)}`);
      }
    }
  }

  /** Writes the counted reads and starts a new window. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const events = [...this.#buckets.values()].map((b) => ({
      ...b.event,
      details: { ...b.event.details, count: b.count, first: b.first, last: b.last, aggregated: true },
    }));
    this.#buckets = new Map();
    if (events.length) await this.#audit.append(events);
  }

  #count(call: ProxyCall): void {
    const p = call.principal;
    const key = [
      p.kind,
      p.id,
      call.operationId,
      call.resource.env,
      call.resource.dagId ?? '',
      call.outcome,
    ].join('\u0000');
    const now = this.#now();
    const b = this.#buckets.get(key);
    if (b) {
      b.count++;
      b.last = now;
    } else {
      // Per-request facts (the request id) are left out: one record stands for many requests.
      const { requestId: _r, ...rest } = eventOf(call);
      this.#buckets.set(key, { event: rest, count: 1, first: now, last: now });
    }
    this.#timer ??= setTimeout(() => {
      this.flush().catch((e: unknown) =>
        process.emitWarning(`aggregated proxy reads could not be recorded: ${(e as Error).message}`),
      );
    }, this.#cfg.windowMs).unref();
  }
}

function eventOf(call: ProxyCall): AuditEvent {
  return {
    action: PROXY_ACTION,
    actor: actorOf(call.principal),
    resource: call.resource,
    source: call.source,
    requestId: call.requestId,
    ...(call.decision ? { decision: call.decision } : {}),
    outcome: call.outcome,
    ...(call.secrets && Object.keys(call.secrets).length ? { secrets: call.secrets } : {}),
    details: {
      operation: call.operationId,
      method: call.method,
      ...(call.pathParams && Object.keys(call.pathParams).length ? { params: call.pathParams } : {}),
      ...(call.airflowStatus === undefined ? {} : { airflowStatus: call.airflowStatus }),
      ...call.details,
    },
  };
}
