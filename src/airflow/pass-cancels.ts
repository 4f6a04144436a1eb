/**
 * Passes cancels of delivered runs on to Airflow: a run cancelled in Airclutch is marked failed in
 * Airflow (Airflow's way to stop a run), once, and that is an audit record. A failed call is tried
 * again on the next pass, with its error kept on the bridge's row.
 * @module
 */
import { describeThrown } from '../lib/errors.ts';
import { BRIDGE_ACTOR, type ExecutorContext } from './executor-context.ts';
import { inParallel } from './in-parallel.ts';

/**
 * @example
 * await passCancels(ctx, ['prod']);
 */
export async function passCancels(ctx: ExecutorContext, envs: readonly string[]): Promise<void> {
  if (!envs.length) return;
  const rows = await ctx.db.kysely
    .selectFrom('runs as r')
    .innerJoin('airflow_runs as a', 'a.run_id', 'r.id')
    .select(['r.id', 'r.env', 'r.dag_id', 'a.remote_run_id'])
    .where('r.state', '=', 'cancelled')
    .where('r.env', 'in', envs)
    .where('a.delivery_state', '=', 'delivered')
    .where('a.cancel_sent', '=', 0)
    .execute();
  await inParallel(rows, ctx.concurrency, async (r) => {
    const env = ctx.environments.get(r.env);
    if (!env) return;
    let outcome = 'failed';
    try {
      const remote = await env.client.getRun(r.dag_id, r.remote_run_id);
      if (remote && (remote.state === 'queued' || remote.state === 'running'))
        await env.client.failRun(r.dag_id, r.remote_run_id);
      else outcome = remote ? `already ${remote.state}` : 'gone';
    } catch (e) {
      await ctx.db.kysely
        .updateTable('airflow_runs')
        .set({ last_error: describeThrown(e), updated_at: ctx.now() })
        .where('run_id', '=', r.id)
        .execute();
      return;
    }
    await ctx.db.kysely.transaction().execute(async (trx) => {
      await trx
        .updateTable('airflow_runs')
        .set({ cancel_sent: 1, remote_state: 'failed', last_error: null, updated_at: ctx.now() })
        .where('run_id', '=', r.id)
        .execute();
      await ctx.record(
        trx,
        [],
        [
          {
            action: 'airflow.cancel',
            actor: BRIDGE_ACTOR,
            source: 'bridge',
            resource: { env: r.env, dagId: r.dag_id, runId: r.id },
            outcome,
            details: { remoteRunId: r.remote_run_id },
          },
        ],
      );
    });
  });
}
