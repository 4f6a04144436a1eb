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
import { uiLinks } from '../../lib/ui-links.ts';
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
  /**
   * The web UI's base URL that messages link to (`publicBaseUrl`); defaults to `server.publicUrl`.
   * Without either, messages carry no links.
   */
  readonly publicUrl?: string;
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
  server: Pick<ServerConfig, 'slack' | 'webhooks'> & Partial<Pick<ServerConfig, 'publicUrl'>>,
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
  /** A receiver: its sink, and whether it takes an event type (so it is only woken for those). */
  const receivers: Array<{ sink: ChatSink; takes: (type: string) => boolean }> = [];
  const base = options.publicUrl ?? server.publicUrl;
  const links = base ? uiLinks(base) : undefined;
  const slackUrl = server.slack.webhookUrl;
  if (slackUrl) {
    const takes = (type: string) => type === 'approval.requested';
    const sink = new ChatSink('chat:slack', ac, {
      ...delivery,
      takes,
      deliveryFor: (e) => {
        const { data, paramsSchema } = e as ApprovalRequested;
        const body = JSON.stringify(approvalMessage({ ...data, paramsSchema, links }));
        return { url: slackUrl, body, maxAttempts: 5 };
      },
    });
    receivers.push({ sink, takes });
  }
  for (const w of server.webhooks) {
    const takes = (type: string) => w.events.length === 0 || w.events.includes(type);
    // The cursor is named after the URL's hash: the URL may hold a token.
    const name = `webhook:${createHash('sha256').update(w.url).digest('hex').slice(0, 16)}`;
    const sink = new ChatSink(name, ac, {
      ...delivery,
      takes,
      deliveryFor: (e) => {
        const body = JSON.stringify({ id: e.id, type: e.type, ts: e.ts, data: e.data });
        return { url: w.url, body, secret: w.secret, maxAttempts: w.maxAttempts };
      },
    });
    receivers.push({ sink, takes });
  }
  const pumps = receivers.map(({ sink, takes }) => ({
    takes,
    pump: new AuditSinkPump(ac.db, sink, {
      from: 'now',
      ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
      onError: (e) => {
        if (!shutdown.signal.aborted) warn(`notification not delivered yet: ${describeThrown(e)}`);
      },
    }),
  }));
  // Placed before the first event can be recorded, so a new receiver starts exactly here.
  await Promise.all(pumps.map((p) => p.pump.prime()));
  for (const p of pumps) p.pump.start();
  // The trail is polled; a nudge says "now" so a message goes out within milliseconds. Only the
  // receivers that take the event are woken: a busy engine does not make the Slack pump spin.
  const nudge = (type: string) => {
    for (const p of pumps) if (p.takes(type)) p.pump.nudge();
  };
  const onRequested = () => nudge('approval.requested');
  const onClosed = () => nudge('approval.closed');
  const onRun = (e: { state: string }) => nudge(`run.${e.state}`);
  ac.gate.on('approvalRequested', onRequested);
  ac.gate.on('approvalClosed', onClosed);
  ac.engine.on('run', onRun);
  return async () => {
    ac.gate.off('approvalRequested', onRequested);
    ac.gate.off('approvalClosed', onClosed);
    ac.engine.off('run', onRun);
    shutdown.abort();
    await Promise.all(pumps.map((p) => p.pump.stop()));
  };
}
