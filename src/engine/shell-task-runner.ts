/**
 * Runs shell tasks as child processes in their own process group, streaming stdout and stderr into
 * the attempt's log line by line. A non-zero exit or a signal fails the attempt. On timeout,
 * cancellation or shutdown the group gets SIGTERM, then SIGKILL after a grace period. A task's
 * environment is built from nothing (`shellTaskEnv`): it never inherits the server's secrets.
 * @module
 */
import { type SpawnOptions, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describeThrown } from '../lib/errors.ts';
import {
  type AttemptResult,
  type AttemptWork,
  abortFailure,
  runFacts,
  type TaskRunner,
  taskContext,
} from './task-runner.ts';

/** Server variables every shell task gets: where programs are, the home folder, the locale and time zone. */
const BASE_ENV = ['PATH', 'HOME', 'LANG', 'TZ'];

/**
 * The whole environment of a shell task, built from nothing: the server's PATH, HOME, LANG, TZ and
 * LC_*, the task's `passEnv` names (when set on the server), its `env` values, and the run's facts,
 * which nothing overrides. No other server variable reaches the task: not AIRCLUTCH_TOKEN, not the
 * database URL, not the Slack signing secret.
 *
 * @example
 * spawn('/bin/sh', ['-c', command], { env: shellTaskEnv(work, process.env) });
 */
export function shellTaskEnv(work: AttemptWork, server: NodeJS.ProcessEnv): Record<string, string> {
  const spec = work.task.shell;
  const env: Record<string, string> = {};
  const pass = (name: string) => {
    const value = server[name];
    if (value !== undefined) env[name] = value;
  };
  for (const name of BASE_ENV) pass(name);
  for (const name of Object.keys(server)) if (name.startsWith('LC_')) pass(name);
  for (const name of spec?.passEnv ?? []) if (!name.startsWith('AIRCLUTCH_')) pass(name);
  Object.assign(env, spec?.env);
  const facts = runFacts(work);
  Object.assign(env, {
    AIRCLUTCH_ENV: facts.env,
    AIRCLUTCH_DAG_ID: facts.dagId,
    AIRCLUTCH_RUN_ID: facts.runId,
    AIRCLUTCH_TASK_ID: facts.taskId,
    AIRCLUTCH_TRY_NUMBER: String(facts.tryNumber),
    ...(facts.logicalDate ? { AIRCLUTCH_LOGICAL_DATE: facts.logicalDate.toISOString() } : {}),
  });
  return env;
}

export class ShellTaskRunner implements TaskRunner {
  constructor(private readonly killGraceMs = 5_000) {}

  async run(work: AttemptWork): Promise<AttemptResult> {
    const spec = work.task.shell;
    if (!spec) return { state: 'failed', reason: 'error', error: `task ${work.taskId} has no command` };
    let command: string | readonly string[];
    try {
      command = typeof spec.command === 'function' ? spec.command(taskContext(work) as never) : spec.command;
    } catch (e) {
      return { state: 'failed', reason: 'error', error: `building the command failed: ${describeThrown(e)}` };
    }
    if (work.abort.aborted) return abortFailure(work.abort);
    const env = shellTaskEnv(work, process.env);
    const options: SpawnOptions = { cwd: spec.cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] };
    const child =
      typeof command === 'string'
        ? spawn('/bin/sh', ['-c', command], options)
        : spawn(command[0]!, command.slice(1), options);

    let lastLine: string | null = null;
    const pump = (stream: NodeJS.ReadableStream, name: 'stdout' | 'stderr') =>
      new Promise<void>((resolve) => {
        const rl = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
        rl.on('line', (line) => {
          if (name === 'stdout') lastLine = line;
          work.log(name, line);
        });
        rl.on('close', resolve);
      });
    const streams = Promise.all([pump(child.stdout!, 'stdout'), pump(child.stderr!, 'stderr')]);

    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      killGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), this.killGraceMs);
    };
    const stopListening = work.abort.onAbort(onAbort);

    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>(
      (resolve) => {
        child.once('error', (error) => resolve({ code: null, signal: null, error }));
        child.once('exit', (code, signal) => resolve({ code, signal }));
      },
    );
    stopListening();
    clearTimeout(killTimer);
    // Grandchildren may hold the pipes open: do not wait on them once the shell itself has exited.
    await Promise.race([streams, new Promise((r) => setTimeout(r, 200).unref())]);
    if (exit.signal === null && exit.code === null) killGroup(child.pid, 'SIGKILL');

    if (work.abort.aborted) return abortFailure(work.abort);
    if (exit.error)
      return {
        state: 'failed',
        reason: 'error',
        error: `could not start the command: ${exit.error.message}`,
      };
    if (exit.signal) {
      return { state: 'failed', reason: 'error', error: `the process was killed by ${exit.signal}` };
    }
    if (exit.code !== 0) {
      return {
        state: 'failed',
        reason: 'error',
        error: `the command exited with code ${exit.code}`,
        exitCode: exit.code!,
      };
    }
    const output = { exitCode: 0, lastLine };
    return { state: 'success', output, outputJson: JSON.stringify(output), exitCode: 0 };
  }
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
