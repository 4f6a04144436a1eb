/**
 * An audit sink that turns records into chat or webhook deliveries. Its pump keeps a cursor in the
 * store, so a receiver that is down gets the same events (same ids) once it is back, even after a
 * restart, and a receiver that refuses an event for good (a 4xx) is reported and passed over.
 * @module
 */
import type { Airclutch } from '../../app/create-airclutch.ts';
import type { AuditRecord, AuditSink } from '../../audit/audit-types.ts';
import { AirclutchError } from '../../lib/errors.ts';
import { type ApprovalRequested, type ChatEvent, chatEventOf } from './chat-events.ts';
import { type Delivery, type DeliveryOptions, deliverWebhook } from './webhook-delivery.ts';

export interface ChatSinkOptions extends DeliveryOptions {
  /** What to send for an event, or nothing when this receiver does not take it. */
  readonly deliveryFor: (event: ChatEvent | ApprovalRequested) => Delivery | undefined;
  /** Where final refusals are reported. */
  readonly warn?: (message: string) => void;
}

/**
 * @example
 * const sink = new ChatSink('chat:slack', ac, { deliveryFor: (e) => (e.type === 'approval.requested' ? { url, body, maxAttempts: 5 } : undefined) });
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
      const event = await chatEventOf(this.#ac, r);
      const delivery = event && this.#o.deliveryFor(event);
      if (delivery) {
        const res = await deliverWebhook(delivery, this.#o);
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
