/** A fixed set of DAGs as a `DagSource`: for embedding Airclutch in a program, tests and benchmarks. @module */
import { createHash } from 'node:crypto';
import type { Dag } from '../dag/dag.ts';
import { AirclutchError } from '../lib/errors.ts';
import { didYouMean, nearMatches } from '../lib/near-matches.ts';
import type { DagSource, SourcedDag } from './engine-types.ts';

export class StaticDagSource implements DagSource {
  readonly #dags = new Map<string, SourcedDag>();

  constructor(
    dags: ReadonlyArray<Dag<any> | { env?: string; dag: Dag<any>; version?: string }>,
    defaultEnv = 'dev',
  ) {
    for (const d of dags) {
      const entry = 'dag' in d && !('tasks' in d) ? d : { dag: d as Dag<any> };
      entry.dag.validate();
      const version = ('version' in entry && entry.version) || versionOf(entry.dag);
      const env = ('env' in entry && entry.env) || defaultEnv;
      this.#dags.set(`${env}/${entry.dag.id}`, {
        env,
        dag: entry.dag,
        version,
        file: entry.dag.definedAt ?? '(in memory)',
      });
    }
  }

  find(env: string, dagId: string): SourcedDag | undefined {
    return this.#dags.get(`${env}/${dagId}`);
  }

  list(env?: string): SourcedDag[] {
    return [...this.#dags.values()].filter((d) => env === undefined || d.env === env);
  }

  get(env: string, dagId: string): SourcedDag {
    const found = this.find(env, dagId);
    if (found) return found;
    const ids = [...this.#dags.keys()]
      .filter((k) => k.startsWith(`${env}/`))
      .map((k) => k.slice(env.length + 1));
    const suggestions = nearMatches(dagId, ids);
    throw new AirclutchError(
      'DAG_NOT_FOUND',
      `DAG ${dagId} not found in environment ${env}${didYouMean(suggestions)}`,
      { details: { env, dagId, suggestions } },
    );
  }
}

function versionOf(d: Dag<any>): string {
  const h = createHash('sha256');
  for (const t of d.tasks.values()) h.update(`${t.id}:${t.after.join(',')}:${String(t.fn ?? '')}\n`);
  return h.digest('hex').slice(0, 16);
}
