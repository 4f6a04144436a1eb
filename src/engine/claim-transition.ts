/** The transition of a claimed task: queued to running, on its try. Every executor records it. @module */
import type { EngineTransition } from './engine-types.ts';

export function claimTransition(
  run: { readonly runId: string; readonly env: string; readonly dagId: string },
  taskId: string,
  tryNumber: number,
): EngineTransition {
  const { runId, env, dagId } = run;
  return { kind: 'task', runId, env, dagId, taskId, from: 'queued', to: 'running', tryNumber };
}
