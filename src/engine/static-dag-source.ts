/** A fixed set of DAGs as a `DagSource`: for embedding Airclutch in a program, tests and benchmarks. @module */
import { createHash } from 'node:crypto';
import type { Dag } from '../dag/dag.ts';
import type { DagSource } from './engine-types.ts';

export class StaticDagSource implements DagSource {
  readonly #dags = new Map<string, { dag: Dag<any>; version: string }>();

  constructor(
    dags: ReadonlyArray<Dag<any> | { env?: string; dag: Dag<any>; version?: string }>,
    defaultEnv = 'dev',
  ) {
    for (const d of dags) {
      const entry = 'dag' in d && !('tasks' in d) ? d : { dag: d as Dag<any> };
      entry.dag.validate();
      const version = ('version' in entry && entry.version) || versionOf(entry.dag);
      this.#dags.set(`${('env' in entry && entry.env) || defaultEnv}/${entry.dag.id}`, {
        dag: entry.dag,
        version,
      });
    }
  }

  find(env: string, dagId: string) {
    return this.#dags.get(`${env}/${dagId}`);
  }
}

function versionOf(d: Dag<any>): string {
  const h = createHash('sha256');
  for (const t of d.tasks.values()) h.update(`${t.id}:${t.after.join(',')}:${String(t.fn ?? '')}\n`);
  return h.digest('hex').slice(0, 16);
}
