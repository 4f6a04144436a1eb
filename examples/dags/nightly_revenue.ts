/** Nightly revenue: extract, transform in a function, load through a shell command, then report. */
import { dag } from 'airclutch';
import { z } from 'airclutch/zod';

const nightly = dag({
  id: 'nightly_revenue',
  description: 'Aggregates the day’s orders into the revenue table',
  owner: 'data-eng',
  tags: ['finance', 'daily'],
  schedule: '0 2 * * *',
  timezone: 'Europe/Paris',
  params: z.object({
    date: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/)
      .optional()
      .describe('Day to process (default: yesterday)'),
    rows: z.number().int().min(1).max(1_000_000).default(1_000),
    dryRun: z.boolean().default(false),
  }),
  defaults: { retries: 2, retryDelayMs: 2_000 },
});

const extract = nightly.task('extract', async (ctx) => {
  ctx.log(`extracting up to ${ctx.params.rows} rows`);
  return { rows: Array.from({ length: 5 }, (_, i) => ({ order: i + 1, amount: (i + 1) * 10 })) };
});

const transform = nightly.task('transform', { after: [extract] }, (ctx) => {
  const { rows } = ctx.upstream(extract);
  const total = rows.reduce((sum, r) => sum + r.amount, 0);
  ctx.log(`total revenue ${total}`);
  return { total };
});

const load = nightly.shell('load', {
  after: [transform],
  timeoutMs: 30_000,
  command: (ctx) => ['sh', '-c', `echo "loading total into revenue table (dry run: ${ctx.params.dryRun})"`],
});

nightly.task('report', { after: [load, transform], triggerRule: 'all_done' }, (ctx) => {
  ctx.log('revenue report sent', ctx.upstream(transform));
});

export default nightly;
