/**
 * The DAG builder: `dag({ id, schedule, params })`, then `.task()` and `.shell()` to add tasks.
 * Building a DAG never runs task code; the engine calls the task functions later, one attempt each.
 *
 * @example
 * import { dag } from 'airclutch';
 * import { z } from 'airclutch/zod';
 *
 * const d = dag({ id: 'nightly_revenue', schedule: '0 2 * * *', timezone: 'Europe/Paris',
 *   params: z.object({ rows: z.number().int().default(100) }) });
 * const extract = d.task('extract', async (ctx) => ({ rows: ctx.params.rows }));
 * d.shell('load', { after: [extract], command: 'echo loading' });
 * export default d;
 * @module
 */
import { AirclutchError } from '../lib/errors.ts';
import { formatIssues, issuePath } from '../lib/format-issues.ts';
import { checkShellEnv } from './check-shell-env.ts';
import type { StandardSchemaV1 } from './standard-schema.ts';
import type {
  DagOptions,
  ParamsOf,
  ShellTaskOptions,
  TaskContext,
  TaskDefinition,
  TaskHandle,
  TaskOptions,
} from './types.ts';
import { validateDag } from './validate-dag.ts';

/** Marks DAG objects across module instances (a reloaded DAG file imports its own copy of Airclutch). */
export const DAG_BRAND = Symbol.for('airclutch.dag');

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export class Dag<S extends StandardSchemaV1 | undefined = undefined> {
  readonly [DAG_BRAND] = true;
  readonly id: string;
  readonly options: DagOptions<S>;
  readonly tasks = new Map<string, TaskDefinition>();
  /** Where `dag()` was called, as `file:line:column`, for load errors. */
  readonly definedAt: string | undefined;
  #jsonSchema: Record<string, unknown> | undefined;

  constructor(options: DagOptions<S>, definedAt?: string) {
    if (!ID_PATTERN.test(options.id)) {
      throw new AirclutchError(
        'DAG_INVALID',
        `DAG id ${JSON.stringify(options.id)} is invalid: use letters, digits, '_', '.' or '-' (at most 128)`,
      );
    }
    this.id = options.id;
    this.options = options;
    this.definedAt = definedAt;
  }

  /** Adds a function task. Its return value (JSON) is what `ctx.upstream(handle)` gives downstream tasks. */
  task<T>(id: string, fn: (ctx: TaskContext<ParamsOf<S>>) => T | Promise<T>): TaskHandle<Awaited<T>>;
  task<T>(
    id: string,
    options: TaskOptions,
    fn: (ctx: TaskContext<ParamsOf<S>>) => T | Promise<T>,
  ): TaskHandle<Awaited<T>>;
  task<T>(
    id: string,
    a: TaskOptions | ((ctx: TaskContext<ParamsOf<S>>) => T | Promise<T>),
    b?: (ctx: TaskContext<ParamsOf<S>>) => T | Promise<T>,
  ): TaskHandle<Awaited<T>> {
    const options = typeof a === 'function' ? {} : a;
    const fn = typeof a === 'function' ? a : b;
    if (typeof fn !== 'function') throw new TypeError(`task ${id}: a function is required`);
    return this.#add(id, { kind: 'function', fn: fn as TaskDefinition['fn'] }, options);
  }

  /** Adds a shell task: a child process with streamed stdout/stderr; a non-zero exit fails it. */
  shell(
    id: string,
    options: ShellTaskOptions<ParamsOf<S>>,
  ): TaskHandle<{ exitCode: number; lastLine: string | null }> {
    if (
      !options ||
      (typeof options.command !== 'string' &&
        !Array.isArray(options.command) &&
        typeof options.command !== 'function')
    ) {
      throw new TypeError(`shell task ${id}: command must be a string, an argv array or a function`);
    }
    checkShellEnv(id, options);
    return this.#add(id, { kind: 'shell', shell: options as ShellTaskOptions<unknown> }, options);
  }

  #add<T>(
    id: string,
    body: Pick<TaskDefinition, 'kind' | 'fn' | 'shell'>,
    options: TaskOptions,
  ): TaskHandle<T> {
    if (!ID_PATTERN.test(id)) {
      throw new AirclutchError('DAG_INVALID', `DAG ${this.id}: task id ${JSON.stringify(id)} is invalid`);
    }
    if (this.tasks.has(id)) {
      throw new AirclutchError('DAG_INVALID', `DAG ${this.id}: task id ${JSON.stringify(id)} is used twice`);
    }
    if (options.queue !== undefined && !ID_PATTERN.test(options.queue)) {
      throw new AirclutchError(
        'DAG_INVALID',
        `DAG ${this.id}: task ${id} names queue ${JSON.stringify(options.queue)}; a queue name is letters, digits, '.', '_' and '-'`,
      );
    }
    const defaults = this.options.defaults ?? {};
    const def: TaskDefinition = {
      id,
      ...body,
      after: (options.after ?? []).map((r) => (typeof r === 'string' ? r : r.taskId)),
      retries: options.retries ?? defaults.retries ?? 0,
      retryDelayMs: options.retryDelayMs ?? defaults.retryDelayMs ?? 1_000,
      maxRetryDelayMs: options.maxRetryDelayMs ?? defaults.maxRetryDelayMs ?? 600_000,
      retryBackoff: options.retryBackoff ?? defaults.retryBackoff ?? 'exponential',
      timeoutMs: options.timeoutMs ?? defaults.timeoutMs,
      triggerRule: options.triggerRule ?? 'all_success',
      description: options.description,
      queue: options.queue ?? 'default',
    };
    this.tasks.set(id, def);
    return { taskId: id } as TaskHandle<T>;
  }

  /** Checks the whole graph (unknown dependencies, cycles, schedule, time zone). Throws `DAG_INVALID`. */
  validate(): void {
    const problems = validateDag(this);
    if (problems.length) {
      throw new AirclutchError(
        'DAG_INVALID',
        `DAG ${this.id} is invalid:\n${problems.map((p) => `- ${p}`).join('\n')}`,
        {
          details: { problems },
        },
      );
    }
  }

  /** The params' JSON Schema, for forms, validation messages and the Cedar schema. */
  get paramsJsonSchema(): Record<string, unknown> {
    if (!this.#jsonSchema) {
      const std = this.options.params?.['~standard'];
      this.#jsonSchema = std?.jsonSchema
        ? std.jsonSchema.input({ target: 'draft-2020-12' })
        : { type: 'object', properties: {}, additionalProperties: false };
    }
    return this.#jsonSchema;
  }

  /**
   * Validates raw params against the schema and returns the parsed value (defaults applied).
   * Throws `PARAMS_INVALID` listing every violation.
   */
  async parseParams(raw: unknown): Promise<ParamsOf<S>> {
    const input = raw ?? {};
    const schema = this.options.params;
    if (!schema) {
      if (
        typeof input === 'object' &&
        input !== null &&
        !Array.isArray(input) &&
        Object.keys(input).length === 0
      ) {
        return {} as ParamsOf<S>;
      }
      throw new AirclutchError('PARAMS_INVALID', `DAG ${this.id} takes no params, but params were given`, {
        details: { issues: [{ path: '(root)', message: 'this DAG declares no params' }] },
      });
    }
    const result = await schema['~standard'].validate(input);
    const unknown = this.#unknownParams(input);
    if (result.issues || unknown.length) {
      const all = [...(result.issues ?? []), ...unknown];
      const issues = all.map((i) => ({ path: issuePath(i), message: i.message }));
      throw new AirclutchError(
        'PARAMS_INVALID',
        `params for DAG ${this.id} do not match its schema (${issues.length} problem${issues.length > 1 ? 's' : ''}):\n${formatIssues(all)}`,
        { details: { issues } },
      );
    }
    return (result as { value: unknown }).value as ParamsOf<S>;
  }

  /** A strict or plain object schema refuses keys it does not declare: a typo must not pass silently. */
  #unknownParams(input: unknown): Array<{ message: string; path: string[] }> {
    const js = this.paramsJsonSchema;
    const props = js.properties as Record<string, unknown> | undefined;
    if (!props || (js.additionalProperties !== undefined && js.additionalProperties !== false)) return [];
    if (typeof input !== 'object' || input === null || Array.isArray(input)) return [];
    const known = Object.keys(props);
    return Object.keys(input)
      .filter((k) => !(k in props))
      .map((k) => ({
        path: [k],
        message: `unknown param; this DAG takes ${known.join(', ') || 'no params'}`,
      }));
  }
}

/** Defines a DAG. See the module example. */
export function dag<S extends StandardSchemaV1 | undefined = undefined>(options: DagOptions<S>): Dag<S> {
  return new Dag(options, callerLocation());
}

/** True for any Airclutch DAG object, whichever copy of the module built it. */
export function isDag(value: unknown): value is Dag<StandardSchemaV1 | undefined> {
  return (
    typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[DAG_BRAND] === true
  );
}

function callerLocation(): string | undefined {
  const stack = new Error().stack?.split('\n') ?? [];
  // [0] "Error", [1] callerLocation, [2] dag(), [3] the DAG file.
  const frame = stack[3];
  const m = frame?.match(/\(?((?:file:\/\/)?\/[^()]+:\d+:\d+)\)?\s*$/);
  return m?.[1];
}
