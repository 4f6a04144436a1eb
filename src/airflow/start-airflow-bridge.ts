/**
 * Starts the Airflow bridge of a built Airclutch: each catalogue refreshes on its interval (and the
 * policies are recompiled when it changed, so new remote DAGs get their entities and schema), and
 * the executor delivers and follows remote runs. Returns a function that stops both.
 * @module
 */
import type { Airclutch } from '../app/create-airclutch.ts';
import type { Logger } from '../app/create-logger.ts';
import { dagChangeEvents, policyLoadEvent } from '../gate/change-events.ts';

export function startAirflowBridge(ac: Airclutch, log: Logger): () => Promise<void> {
  const bridge = ac.airflow;
  if (!bridge) return async () => {};
  for (const [env, catalog] of bridge.catalogs) {
    const every = ac.config.environments[env]?.airflow?.catalogRefreshMs ?? 60_000;
    catalog.on('error', (e) =>
      log.error({ err: e, env }, 'Airflow catalogue refresh failed; the last good one stays'),
    );
    catalog.on('change', (c) => {
      log.info({ env, added: c.added, changed: c.changed, removed: c.removed }, 'Airflow catalogue changed');
      const found = (ids: readonly string[]) =>
        ids.flatMap((id) => {
          const d = catalog.find(id);
          return d ? [d] : [];
        });
      void (async () => {
        const r = await ac.policies.load();
        await ac.audit.append([
          ...dagChangeEvents('added', found(c.added)),
          ...dagChangeEvents('changed', found(c.changed)),
          ...c.removed.map((dagId) => ({
            action: 'dag.load',
            actor: { kind: 'service' as const, id: 'airflow-bridge' },
            source: 'bridge',
            resource: { env, dagId },
            outcome: 'gone',
          })),
          policyLoadEvent(r, ac.policies.current()),
        ]);
      })().catch((e: unknown) => log.error({ err: e, env }, 'could not apply an Airflow catalogue change'));
    });
    catalog.start(every);
  }
  bridge.executor.start();
  return async () => {
    for (const c of bridge.catalogs.values()) c.stop();
    await bridge.executor.stop();
  };
}
