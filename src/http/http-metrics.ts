/**
 * Prometheus metrics for `/metrics`: requests and latency by route, runs and tasks by state (from
 * engine events), and gate outcomes seen by the API. Each server owns its registry, so several
 * servers in one process (tests) never collide.
 * @module
 */
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { Engine } from '../engine/engine.ts';

/**
 * @example
 * const metrics = new HttpMetrics(); const detach = metrics.watch(ac.engine);
 * reply.type(metrics.contentType).send(await metrics.text());
 */
export class HttpMetrics {
  readonly registry = new Registry();
  readonly #requests = new Counter({
    name: 'airclutch_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly #latency = new Histogram({
    name: 'airclutch_http_request_duration_seconds',
    help: 'HTTP request latency by method and route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly #runs = new Counter({
    name: 'airclutch_run_transitions_total',
    help: 'Run state transitions seen by this process, by state',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  readonly #tasks = new Counter({
    name: 'airclutch_task_transitions_total',
    help: 'Task state transitions seen by this process, by state',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  readonly #decisions = new Counter({
    name: 'airclutch_gate_decisions_total',
    help: 'Gate outcomes of API requests, by action and outcome',
    labelNames: ['action', 'outcome'] as const,
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  request(method: string, route: string, status: number, seconds: number): void {
    this.#requests.inc({ method, route, status: String(status) });
    this.#latency.observe({ method, route }, seconds);
  }

  decision(action: string, outcome: string): void {
    this.#decisions.inc({ action, outcome });
  }

  /** Counts the engine's run and task transitions; returns the function that stops counting. */
  watch(engine: Engine): () => void {
    const onRun = (e: { state: string }) => this.#runs.inc({ state: e.state });
    const onTask = (e: { state: string }) => this.#tasks.inc({ state: e.state });
    engine.on('run', onRun);
    engine.on('task', onTask);
    return () => {
      engine.off('run', onRun);
      engine.off('task', onTask);
    };
  }
}
