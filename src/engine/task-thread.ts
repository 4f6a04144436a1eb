/**
 * A task thread: the worker-thread side of `ThreadTaskRunner`. It imports each DAG bundle once (per
 * version: the URL names it), runs the attempts the engine sends it concurrently, like the engine's
 * own event loop would, and answers with their results. While it has work it beats every `BEAT_MS`,
 * so the engine can tell a thread that is blocked (a busy loop) from one that is waiting on I/O.
 * @module
 */
import { inspect } from 'node:util';
import { parentPort, workerData } from 'node:worker_threads';
import { isDag } from '../dag/dag.ts';
import { AirclutchError, describeThrown, ERROR_CODES, type ErrorCode } from '../lib/errors.ts';
import { IdTable } from '../lib/id-table.ts';
import { AttemptAbortController } from './attempt-abort-controller.ts';
import { mapBundleStack } from './bundle-stack.ts';
import { failureLogLine, toOutput } from './function-task-runner.ts';
import { AttemptAbort } from './task-runner.ts';
import {
  BEAT_MS,
  CLAIM_STARTED,
  claimSlot,
  type FromThread,
  type RunMessage,
  type ThreadResult,
  type ToThread,
} from './task-thread-protocol.ts';
import { ThreadTaskContext } from './thread-task-context.ts';

const port = parentPort!;
const claims = (workerData as { claims: Int32Array }).claims;
const modules = new Map<string, Promise<Record<string, unknown>>>();
/** By message id (not a `Map`: see `IdTable`). */
const running = new IdTable<{ controller: AttemptAbortController; calls: Map<number, Pending> }>();
interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
}
let beat: NodeJS.Timeout | undefined;
let nextCall = 0;

const send = (m: FromThread) => port.postMessage(m);
send({ t: 'ready' });

port.on('message', (m: ToThread) => {
  if (m.t === 'run') start(m);
  else if (m.t === 'abort')
    running.get(m.id)?.controller.abort(new AttemptAbort(m.reason as never, m.message));
  else {
    const call = running.get(m.id)?.calls.get(m.call);
    if (!call) return;
    running.get(m.id)!.calls.delete(m.call);
    if (m.error !== undefined) call.reject(refusal(m.error));
    else call.resolve(m.value);
  }
});

function start(m: RunMessage): void {
  // The task's `ctx.signal` is made only if its code reads it (see AttemptAbortController).
  const controller = new AttemptAbortController();
  const calls = new Map<number, Pending>();
  running.set(m.id, { controller, calls });
  beat ??= setInterval(() => send({ t: 'beat' }), BEAT_MS);
  run(m, controller, calls).then((result) => {
    running.delete(m.id);
    if (running.size === 0) {
      clearInterval(beat);
      beat = undefined;
    }
    if (result !== MOVED) send({ t: 'done', id: m.id, result });
  });
}

/** The pool moved the attempt to another thread while this one was blocked. */
const MOVED = Symbol('moved');

async function run(
  m: RunMessage,
  abort: AttemptAbortController,
  calls: Map<number, Pending>,
): Promise<ThreadResult | typeof MOVED> {
  let fn: ((ctx: unknown) => unknown) | undefined;
  let loadError: string | undefined;
  try {
    fn = findTask(await load(m.url), m.dagId, m.taskId);
  } catch (e) {
    loadError = `the task thread could not load ${m.dagId}: ${describeThrown(e)}`;
  }
  // Claimed only now, right before the code runs: until then the pool may still move it elsewhere
  // (this thread may be blocked by another task's code), and an attempt never runs twice.
  if (Atomics.compareExchange(claims, claimSlot(m.id), 0, CLAIM_STARTED) !== 0) return MOVED;
  if (loadError) return { state: 'failed', reason: 'error', error: loadError };
  if (!fn)
    return {
      state: 'failed',
      reason: 'error',
      error: `task ${m.taskId} has no function in ${m.dagId}'s module`,
    };
  const ctx = new ThreadTaskContext(
    m.facts,
    {
      log: (...args: unknown[]) =>
        send({
          t: 'log',
          id: m.id,
          line: args.map((a) => (typeof a === 'string' ? a : inspect(a, { depth: 4 }))).join(' '),
        }),
      upstream: (ref: string | { taskId: string }) => {
        const id = typeof ref === 'string' ? ref : ref.taskId;
        if (!m.upstream.has(id)) {
          throw new AirclutchError(
            'TASK_NOT_FOUND',
            `task ${m.taskId} can only read outputs of tasks upstream of it, and ${id} is not: add it to \`after\``,
          );
        }
        return m.upstream.get(id);
      },
      trigger: (dagId: string, params?: Record<string, unknown>) =>
        new Promise((resolve, reject) => {
          const call = nextCall++;
          calls.set(call, { resolve, reject });
          send({ t: 'trigger', id: m.id, call, dagId, ...(params === undefined ? {} : { params }) });
        }),
    },
    abort,
  );
  try {
    const out = toOutput(await fn(ctx));
    return out.state === 'success' ? { state: 'success', outputJson: out.outputJson } : out;
  } catch (e) {
    if (abort.aborted) {
      const r = abort.reason as AttemptAbort;
      return { state: 'failed', reason: r.reason, error: r.message };
    }
    // Its stack goes to the task's log, as Airflow logs a task's traceback, with the DAG file's own
    // lines; the error itself stays short.
    send({ t: 'log', id: m.id, line: mapBundleStack(failureLogLine(e), m.url) });
    return { state: 'failed', reason: 'error', error: describeThrown(e) };
  }
}

/** The submitter's refusal as the task would have caught it in the engine's thread. */
function refusal(e: { code?: string; message: string }): Error {
  return e.code && e.code in ERROR_CODES
    ? new AirclutchError(e.code as ErrorCode, e.message)
    : new Error(e.message);
}

function load(url: string): Promise<Record<string, unknown>> {
  let ns = modules.get(url);
  if (!ns) {
    ns = import(url) as Promise<Record<string, unknown>>;
    modules.set(url, ns);
    ns.catch(() => modules.delete(url));
  }
  return ns;
}

function findTask(ns: Record<string, unknown>, dagId: string, taskId: string) {
  for (const value of Object.values(ns)) {
    if (isDag(value) && value.id === dagId)
      return value.tasks.get(taskId)?.fn as ((ctx: unknown) => unknown) | undefined;
  }
  throw new Error(`the module exports no DAG ${dagId}`);
}
