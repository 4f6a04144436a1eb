/**
 * The fake Airflow (test/airflow/fake-airflow.ts) in a second process, so that what a benchmark
 * measures on its own event loop is Airclutch's work, and the fake's is Airflow's answer.
 * @module
 */
import { type ChildProcess, fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FakeDag } from '../test/airflow/fake-airflow.ts';

const HERE = dirname(fileURLToPath(import.meta.url));

export interface FakeAirflowStats {
  readonly violations: string[];
  readonly requests: number;
  readonly triggers: number;
  readonly runs: number;
}

export interface FakeAirflowProcess {
  readonly url: string;
  readonly credentials: { username: string; password: string };
  addDags(dags: FakeDag[]): Promise<void>;
  /** Moves every unfinished run one step (queued → running → end). */
  step(): Promise<void>;
  stats(): Promise<FakeAirflowStats>;
  /**
   * When each trigger arrived, by `dag_run_id`, as `performance.timeOrigin + performance.now()` in
   * the fake's process: comparable with the same sum taken in this one.
   */
  arrivals(): Promise<Map<string, number>>;
  close(): Promise<void>;
}

/**
 * @example
 * const fake = await startFakeAirflowProcess('v2');
 * await fake.addDags([{ dag_id: 'orders' }]);
 */
export async function startFakeAirflowProcess(api: 'v1' | 'v2'): Promise<FakeAirflowProcess> {
  const child: ChildProcess = fork(
    join(HERE, '../bin/run-ts.js'),
    [join(HERE, 'fake-airflow-child.ts'), api],
    {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    },
  );
  const hello = await new Promise<{ url: string; credentials: { username: string; password: string } }>(
    (resolve, reject) => {
      child.once('message', (m) => resolve(m as never));
      child.once('exit', (code) => reject(new Error(`the fake Airflow process exited with ${code}`)));
    },
  );
  let next = 0;
  const pending = new Map<number, (result: unknown) => void>();
  child.on('message', (m: { id?: number; result?: unknown }) => {
    if (m.id === undefined) return;
    pending.get(m.id)?.(m.result);
    pending.delete(m.id);
  });
  const ask = <T>(command: Record<string, unknown>) =>
    new Promise<T>((resolve) => {
      const id = next++;
      pending.set(id, resolve as (r: unknown) => void);
      child.send({ ...command, id });
    });
  return {
    ...hello,
    addDags: (dags) => ask({ op: 'addDags', dags }),
    step: () => ask({ op: 'step' }),
    stats: () => ask({ op: 'stats' }),
    arrivals: async () => new Map(await ask<[string, number][]>({ op: 'arrivals' })),
    close: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.disconnect();
      await exited;
    },
  };
}
