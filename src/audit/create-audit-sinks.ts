/** Builds the sinks named in `audit.sinks` and their pumps. @module */
import { resolve } from 'node:path';
import type { Db } from '../store/create-db.ts';
import type { AuditConfig } from './audit-config.ts';
import { AuditSinkPump } from './audit-sink-pump.ts';
import type { AuditSink } from './audit-types.ts';
import { FileSink, StreamSink } from './stream-sink.ts';
import { WebhookSink } from './webhook-sink.ts';

/** One sink per entry of `audit.sinks`; names default to the type (and the path or URL host). */
export function createAuditSinks(audit: AuditConfig, rootDir: string): AuditSink[] {
  return audit.sinks.map((s): AuditSink => {
    switch (s.type) {
      case 'stdout':
        return new StreamSink(s.name, process.stdout);
      case 'file':
        return new FileSink(s.name ?? `file:${s.path}`, resolve(rootDir, s.path));
      case 'webhook':
        return new WebhookSink(s.name ?? `webhook:${new URL(s.url).host}`, s);
      default: {
        const never: never = s;
        throw new TypeError(`unknown audit sink ${JSON.stringify(never)}`);
      }
    }
  });
}

/**
 * Starts a pump per configured sink; stop them on shutdown.
 *
 * @example
 * const pumps = startAuditSinks(db, config);
 * // on SIGTERM:
 * await Promise.all(pumps.map((p) => p.stop()));
 */
export function startAuditSinks(
  db: Db,
  config: { audit: AuditConfig; rootDir: string },
  onError?: (e: unknown) => void,
): AuditSinkPump[] {
  return createAuditSinks(config.audit, config.rootDir).map((sink) => {
    const pump = new AuditSinkPump(db, sink, { pollMs: config.audit.sinkPollMs, onError });
    pump.start();
    return pump;
  });
}
