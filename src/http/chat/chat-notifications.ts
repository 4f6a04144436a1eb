/**
 * Sends approval and run events out: a Slack Block Kit message (incoming webhook) when a run needs
 * approval, and signed JSON events to generic webhooks for other chat tools and automations.
 * Event names: `approval.requested`, `approval.closed`, `run.<state>`.
 *
 * Each receiver is an audit sink with its own cursor, started at the head of the trail the first time
 * it is seen: events come from the records written with each change, so none is lost to a crash or
 * a receiver's downtime, and one receiver being down never holds up the others.
 * @module
 */
import { createHash } from 'node:crypto';
import type { Airclutch } from '../../app/create-airclutch.ts';
import { AuditSinkPump } from '../../audit/audit-sink-pump.ts';
import { describeThrown } from '../../lib/errors.ts';
import type { ServerConfig } from '../server-config.ts';
import type { ApprovalRequested } from './chat-events.ts';
import { ChatSink } from './chat-sink.ts';
import { approvalMessage } from './slack-message.ts';

export interface ChatNotificationsOptions {
  readonly retryBaseMs?: number;
  /** How often receivers look for events they were not nudged about (default 1 s). */
  readonly pollMs?: number;
  readonly now?: () => number;
  /** Where delivery failures are reported. */
  readonly warn?: (message: string) => void;
}

/**
 * Starts one pump per receiver; returns the function that stops them.
 *
 * @example
 * const stop = await chatNotifications(ac, config.server, { warn: (m) => log.warn(m) });
 * await stop();
 */
export async function chatNotifications(
  ac: Airclutch,
  server: Pick<ServerConfig, 'slack' | 'webhooks'>,
  options: ChatNotificationsOptions = {},
): Promise<() => Promise<void>> {
  const shutdown = new AbortController();
  const warn = options.warn ?? (() => {});
  const delivery = {
    signal: shutdown.signal,
    warn,
    ...(options.retryBaseMs !== undefined ? { retryBaseMs: options.retryBaseMs } : {}),
    ...(options.now ? { now: options.now } : {}),
  };
  const sinks: ChatSink[] = [];
  const slackUrl = server.slack.webhookUrl;
  if (slackUrl) {
    sinks.push(
      new ChatSink('chat:slack', ac, {
        ...delivery,
        deliveryFor: (e) => {
          if (e.type !== 'approval.requested') return undefined;
          const { data, paramsSchema } = e as ApprovalRequested;
          return {
            url: slackUrl,
            body: JSON.stringify(approvalMessage({ ...data, paramsSchema })),
            maxAttempts: 5,
          };
        },
      }),
    );
  }
  for (const w of server.webhooks) {
    // The cursor is named after the URL's hash: the URL may hold a token.
    const name = `webhook:${createHash('sha256').update(w.url).digest('hex').slice(0, 16)}`;
    sinks.push(
      new ChatSink(name, ac, {
        ...delivery,
        deliveryFor: (e) => {
          if (w.events.length && !w.events.includes(e.type)) return undefined;
          const body = JSON.stringify({ id: e.id, type: e.type, ts: e.ts, data: e.data });
          return { url: w.url, body, secret: w.secret, maxAttempts: w.maxAttempts };
        },
      }),
    );
  }
  const pumps = sinks.map(
    (sink) =>
      new AuditSinkPump(ac.db, sink, {
        from: 'now',
        ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
        onError: (e) => {
          if (!shutdown.signal.aborted) warn(`notification not delivered yet: ${describeThrown(e)}`);
        },
      }),
  );
  // Placed before the first event can be recorded, so a new receiver starts exactly here.
  await Promise.all(pumps.map((p) => p.prime()));
  for (const p of pumps) p.start();
  // The trail is polled; these say "now" so a message goes out within milliseconds.
  const nudge = () => {
    for (const p of pumps) p.nudge();
  };
  ac.gate.on('approvalRequested', nudge);
  ac.gate.on('approvalClosed', nudge);
  ac.engine.on('run', nudge);
  return async () => {
    ac.gate.off('approvalRequested', nudge);
    ac.gate.off('approvalClosed', nudge);
    ac.engine.off('run', nudge);
    shutdown.abort();
    await Promise.all(pumps.map((p) => p.stop()));
  };
}
