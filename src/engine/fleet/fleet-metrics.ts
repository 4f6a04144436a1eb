/**
 * Prometheus metrics of the fleet, on any registry (a worker's own, or the server's `/metrics`):
 * queue depth per queue (read from the store when scraped), claim latency (ready → claimed), lease
 * expiries (attempts reclaimed, attempts this process lost) and heartbeats missed.
 * @module
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Db } from '../../store/create-db.ts';

export class FleetMetrics {
  readonly claimLatency: Histogram<'queue'>;
  readonly leaseExpiries: Counter<'kind'>;
  readonly heartbeatsMissed: Counter;
  readonly running: Gauge;

  constructor(registry: Registry, db: Db) {
    const registers = [registry];
    new Gauge({
      name: 'airclutch_queue_depth',
      help: 'Task instances ready and waiting for a worker, by queue',
      labelNames: ['queue'] as const,
      registers,
      async collect() {
        const rows = await db.kysely
          .selectFrom('task_instances')
          .select(['queue', db.kysely.fn.countAll<number>().as('n')])
          .where('state', '=', 'queued')
          .groupBy('queue')
          .execute();
        this.reset();
        for (const r of rows) this.set({ queue: r.queue }, Number(r.n));
      },
    });
    this.claimLatency = new Histogram({
      name: 'airclutch_claim_latency_seconds',
      help: 'From a task becoming ready to a worker claiming it, by queue',
      labelNames: ['queue'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.leaseExpiries = new Counter({
      name: 'airclutch_lease_expiries_total',
      help: 'Attempt leases that expired: reclaimed by this process, or lost by it',
      labelNames: ['kind'] as const,
      registers,
    });
    this.heartbeatsMissed = new Counter({
      name: 'airclutch_heartbeats_missed_total',
      help: 'Heartbeats this process sent late (its event loop or the store was slow)',
      registers,
    });
    this.running = new Gauge({
      name: 'airclutch_worker_running_attempts',
      help: 'Attempts this process runs now',
      registers,
    });
  }
}
