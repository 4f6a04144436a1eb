/**
 * An audit sink that turns records into chat or webhook deliveries. Its pump keeps a cursor in the
 * store, so a receiver that is down gets the same events (same ids) once it is back, even after a
 * restart, and a receiver that refuses an event for good (a 4xx) is reported and passed over.
 * @module
 */
import type { Airclutch } from '../../app/create-airclutch.ts';
import type { AuditRecord, AuditSink } from '../../audit/audit-types.ts';
import { AirclutchError } from '../../lib/errors.ts';
import { type ApprovalRequested, type ChatEvent, chatEventOf, chatEventType } from './chat-events.ts';
import { type Delivery, type DeliveryOptions, deliverWebhook } from './webhook-delivery.ts';

export interface ChatSinkOptions extends DeliveryOptions {
  /** Whether this receiver takes events of a type (`approval.requested`, `run.success`, …). */
  readonly takes: (type: string) => boolean;
  /** What to send for an event it takes. */
  readonly deliveryFor: (event: ChatEvent | ApprovalRequested) => Delivery;
  /** Where final refusals are reported. */
  readonly warn?: (message: string) => void;
}

/**
 * @example
 * const sink = new ChatSink('chat:slack', ac, {
 *   takes: (type) => type === 'approval.requested',
 *   deliveryFor: (e) => ({ url, body: JSON.stringify(e), maxAttempts: 5 }),
 * });
 * new AuditSinkPump(ac.db, sink, { from: 'now' }).start();
 */
export class ChatSink implements AuditSink {
  readonly #ac: Pick<Airclutch, 'db' | 'registry'>;
  readonly #o: ChatSinkOptions;

  constructor(
    readonly name: string,
    ac: Pick<Airclutch, 'db' | 'registry'>,
    options: ChatSinkOptions,
  ) {
    this.#ac = ac;
    this.#o = options;
  }

  async deliver(records: readonly AuditRecord[]): Promise<void> {
    let through: number | undefined;
    for (const r of records) {
      const type = chatEventType(r);
      if (type && this.#o.takes(type)) {
        const event = await chatEventOf(this.#ac, r, type);
        const res = await deliverWebhook(this.#o.deliveryFor(event), this.#o);
        if (res.outcome === 'refused') this.#o.warn?.(`${this.name}: event ${event.id}: ${res.reason}`);
        if (res.outcome === 'failed') {
          throw new AirclutchError(
            'DELIVERY_FAILED',
            `${this.name}: event ${event.id}: ${res.reason}; it is sent again on the next pass`,
            through === undefined ? {} : { details: { deliveredThrough: through } },
          );
        }
      }
      through = r.seq;
    }
  }
}
