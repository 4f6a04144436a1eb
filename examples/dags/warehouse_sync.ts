/**
 * Warehouse sync: shell tasks fan out per table, with retries and timeouts; a cleanup task runs
 * whatever happens (all_done), and an alert runs only when something failed (one_failed).
 */
import { dag } from 'airclutch';
import { z } from 'airclutch/zod';

const sync = dag({
  id: 'warehouse_sync',
  description: 'Copies the operational tables into the warehouse, one shell task per table',
  owner: 'platform',
  tags: ['warehouse', 'hourly'],
  schedule: '15 * * * *',
  timezone: 'UTC',
  maxActiveRuns: 1,
  params: z.object({
    tables: z.array(z.enum(['orders', 'customers', 'invoices'])).default(['orders', 'customers', 'invoices']),
    failTable: z.string().optional().describe('A table whose copy fails, to see retries and the alert path'),
  }),
  defaults: { retries: 1, retryDelayMs: 1_000, timeoutMs: 60_000 },
});

const snapshot = sync.shell('snapshot', { command: 'echo "snapshot taken at $(date -u +%FT%TZ)"' });

const copies = (['orders', 'customers', 'invoices'] as const).map((table) =>
  sync.shell(`copy_${table}`, {
    after: [snapshot],
    command: (ctx) =>
      ctx.params.failTable === table
        ? `echo "copying ${table}" && echo "connection reset" >&2 && exit 1`
        : ctx.params.tables.includes(table)
          ? `echo "copying ${table}" && sleep 0.2 && echo "${table}: done"`
          : `echo "${table}: skipped by params"`,
  }),
);

sync.task('alert', { after: copies, triggerRule: 'one_failed' }, (ctx) => {
  ctx.log('a table copy failed: paging the platform on-call');
  return { paged: true };
});

sync.shell('cleanup', { after: copies, triggerRule: 'all_done', command: 'echo "removing the snapshot"' });

export default sync;
