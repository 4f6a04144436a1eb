/**
 * The fake Airflow alone in a process, for benchmarks: `fake-airflow-process.ts` forks it, so its
 * routing, OpenAPI validation (Ajv) and JSON work run on another event loop (as a real Airflow's
 * would), not on the one being measured. Commands arrive over IPC.
 * @module
 */
import { FakeAirflow, type FakeDag } from '../test/airflow/fake-airflow.ts';

type Command =
  | { id: number; op: 'addDags'; dags: FakeDag[] }
  | { id: number; op: 'step' }
  | { id: number; op: 'stats' }
  | { id: number; op: 'arrivals' };

const fake = await FakeAirflow.start({ api: (process.argv[2] as 'v1' | 'v2' | undefined) ?? 'v2' });
process.send?.({ url: fake.url, credentials: fake.credentials });
process.on('message', (m: Command) => {
  switch (m.op) {
    case 'addDags':
      for (const d of m.dags) fake.addDag(d);
      process.send?.({ id: m.id });
      return;
    case 'step':
      fake.step();
      process.send?.({ id: m.id });
      return;
    case 'stats':
      process.send?.({
        id: m.id,
        result: {
          violations: fake.violations.slice(0, 20),
          requests: fake.requests.length,
          triggers: fake.triggerTimesMs.length,
          runs: fake.runs.size,
        },
      });
      return;
    case 'arrivals':
      process.send?.({ id: m.id, result: [...fake.triggerArrivals] });
      return;
    default: {
      const never: never = m;
      throw new Error(`unknown command ${JSON.stringify(never)}`);
    }
  }
});
process.on('disconnect', () => {
  void fake.close().finally(() => process.exit(0));
});
