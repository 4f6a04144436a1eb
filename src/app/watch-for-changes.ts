/**
 * Dev-mode reloading: DAG files and policies reload when they change (atomic saves included), each
 * reload is recorded in the audit trail, and a broken policy set never replaces a working one.
 * @module
 */
import { EventEmitter } from 'node:events';
import { resolve } from 'node:path';
import type { AuditEvent } from '../audit/audit-types.ts';
import type { DagRegistryChange } from '../dag/dag-registry.ts';
import { watchFolders } from '../dag/watch-folders.ts';
import { dagChangeEvents, policyLoadEvent } from '../gate/change-events.ts';
import type { LoadResult } from '../policy/policy-store.ts';
import type { Airclutch } from './create-airclutch.ts';
import type { Logger } from './create-logger.ts';

/**
 * A running watch. Emits `'dags'` and `'policies'` once a reload has been recorded in the audit trail
 * (or recording it failed, which is logged).
 */
export interface ChangeWatch extends EventEmitter<{ dags: [DagRegistryChange]; policies: [LoadResult] }> {
  /** Settles once both watchers finished their initial scan: later edits are seen. */
  readonly ready: Promise<void>;
  /** Stops watching. */
  close(): Promise<void>;
}

export interface WatchForChangesOptions {
  /** Quiet time after the last file event before reloading (default 100 ms for DAGs, 150 for policies). */
  debounceMs?: number;
}

/**
 * @example
 * const watch = watchForChanges(ac, log);
 * await watch.ready;
 * process.on('SIGTERM', () => watch.close());
 */
export function watchForChanges(
  ac: Airclutch,
  log: Logger,
  options: WatchForChangesOptions = {},
): ChangeWatch {
  const { registry, policies, scheduler, config } = ac;
  const emitter = new EventEmitter<{ dags: [DagRegistryChange]; policies: [LoadResult] }>();
  const record = (events: AuditEvent[]) =>
    ac.audit
      .append(events)
      .catch((e) => log.error({ err: e }, 'could not record a change in the audit trail'));
  // One policy load at a time: two overlapping loads could finish out of order and leave the older
  // sources active.
  const reloadPolicies = coalesce(async () => {
    const r = await policies.load();
    await record([policyLoadEvent(r, policies.current())]);
    if (r.ok) log.info({ generation: r.generation, policies: r.policyCount }, 'policies reloaded');
    else log.error(`policies NOT reloaded, the previous set stays active:\n${r.error.message}`);
    emitter.emit('policies', r);
  });
  const reloadPoliciesLogged = () => {
    reloadPolicies().catch((e) => log.error({ err: e }, 'policy reload failed'));
  };
  const onDagChange = async (c: DagRegistryChange) => {
    log.info({ added: c.added, changed: c.changed, removed: c.removed }, 'DAG files reloaded');
    const found = (ids: readonly string[]) =>
      ids.flatMap((id) => registry.list().filter((d) => `${d.env}/${d.dag.id}` === id));
    for (const e of c.newErrors) log.error(`import error: ${e.file}:${e.line ?? '?'} ${e.message}`);
    scheduler.tick().catch((e) => log.error({ err: e }, 'scheduler error'));
    reloadPoliciesLogged();
    await record([
      ...dagChangeEvents('added', found(c.added)),
      ...dagChangeEvents('changed', found(c.changed)),
      ...c.removed.map((id) => ({
        action: 'dag.load',
        actor: { kind: 'service' as const, id: 'airclutch' },
        source: 'engine',
        resource: { env: id.split('/')[0], dagId: id.split('/').slice(1).join('/') },
        outcome: 'removed',
      })),
    ]);
    emitter.emit('dags', c);
  };
  const changeListener = (c: DagRegistryChange) => {
    onDagChange(c).catch((e) => log.error({ err: e }, 'DAG change handling failed'));
  };
  const errorListener = (e: Error) => log.error({ err: e }, 'DAG reload failed');
  registry.on('change', changeListener);
  registry.on('error', errorListener);
  const dagWatch = registry.watch(options.debounceMs === undefined ? {} : { debounceMs: options.debounceMs });
  const policyDirs = Object.values(config.environments).flatMap((e) =>
    [...e.policies, ...e.dags].map((d) => resolve(config.rootDir, d)),
  );
  const policyWatch = watchFolders(policyDirs, {
    debounceMs: options.debounceMs ?? 150,
    only: /\.cedar$/,
    onChange: reloadPoliciesLogged,
    onError: (e) => log.error({ err: e }, 'policy watch failed'),
  });
  return Object.assign(emitter, {
    ready: Promise.all([dagWatch.ready, policyWatch.ready]).then(() => {}),
    async close() {
      registry.off('change', changeListener);
      registry.off('error', errorListener);
      await Promise.all([dagWatch.close(), policyWatch.close()]);
    },
  });
}

/**
 * Runs `fn` one call at a time; calls made while it runs share one follow-up run, so the last call
 * always sees the latest files.
 */
function coalesce(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  let again = false;
  const run = async (): Promise<void> => {
    try {
      do {
        again = false;
        await fn();
      } while (again);
    } finally {
      running = null;
    }
  };
  return () => {
    if (running) {
      again = true;
      return running;
    }
    running = run();
    return running;
  };
}
