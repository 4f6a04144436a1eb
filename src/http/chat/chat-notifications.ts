/**
 * Sends approval and run events out: a Slack Block Kit message (incoming webhook) when a run needs
 * approval, and signed JSON events to generic webhooks for other chat tools and automations.
 * Event names: `approval.requested`, `approval.closed`, `run.<state>`.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { Airclutch } from '../../app/create-airclutch.ts';
import type { ServerConfig } from '../server-config.ts';
import { approvalMessage, maskParams } from './slack-message.ts';
import { WebhookDelivery } from './webhook-delivery.ts';

export interface ChatNotificationsOptions {
  readonly retryBaseMs?: number;
  readonly now?: () => number;
  /** Where delivery failures are reported. */
  readonly warn?: (message: string) => void;
}

/**
 * Subscribes to the gate and engine; returns the function that unsubscribes and drains deliveries.
 *
 * @example
 * const stop = chatNotifications(ac, config.server, { warn: (m) => log.warn(m) });
 * await stop();
 */
export function chatNotifications(
  ac: Airclutch,
  server: Pick<ServerConfig, 'slack' | 'webhooks'>,
  options: ChatNotificationsOptions = {},
): () => Promise<void> {
  const now = options.now ?? Date.now;
  const out = new WebhookDelivery({
    ...(options.retryBaseMs !== undefined ? { retryBaseMs: options.retryBaseMs } : {}),
    now,
    onGiveUp: (_d, reason) => options.warn?.(`notification not delivered: ${reason}`),
  });
  const schemaOf = (env: string, dagId: string) => ac.registry.find(env, dagId)?.dag.paramsJsonSchema;

  const emit = (type: string, data: Record<string, unknown>) => {
    const body = JSON.stringify({ id: randomUUID(), type, ts: now(), data });
    for (const w of server.webhooks) {
      if (w.events.length && !w.events.includes(type)) continue;
      out.send({ url: w.url, body, secret: w.secret, maxAttempts: w.maxAttempts });
    }
  };

  const onRequested: Parameters<typeof ac.gate.on<'approvalRequested'>>[1] = ({ run, approval, reasons }) => {
    const paramsSchema = schemaOf(run.env, run.dag_id);
    if (server.slack.webhookUrl) {
      out.send({
        url: server.slack.webhookUrl,
        body: JSON.stringify(approvalMessage({ run, approval, reasons, paramsSchema })),
        maxAttempts: 5,
      });
    }
    emit('approval.requested', {
      approval: { ...approval },
      run: { ...run, params: maskParams(run.params, paramsSchema) },
      reasons,
    });
  };
  const onClosed: Parameters<typeof ac.gate.on<'approvalClosed'>>[1] = ({ approval, state }) =>
    emit('approval.closed', { approval, state });
  const onRun: Parameters<typeof ac.engine.on<'run'>>[1] = (e) => emit(`run.${e.state}`, { ...e });

  ac.gate.on('approvalRequested', onRequested);
  ac.gate.on('approvalClosed', onClosed);
  if (server.webhooks.length) ac.engine.on('run', onRun);
  return async () => {
    ac.gate.off('approvalRequested', onRequested);
    ac.gate.off('approvalClosed', onClosed);
    ac.engine.off('run', onRun);
    await out.close();
  };
}
