/** `airclutch dags list|show|validate`: what the DAG folders hold, and why a file failed to load. @module */
import { relative } from 'node:path';
import { Command } from 'commander';
import type { RegistryImportError } from '../../dag/dag-registry.ts';
import { type DagDetails, describeDag, summarizeDag } from '../../dag/describe-dag.ts';
import { configFor, loadRegistry, printTable } from '../cli-context.ts';

export function dagsCommand(): Command {
  const dags = new Command('dags').description('List, inspect and validate DAGs');
  dags
    .command('list')
    .description('List the DAGs of every environment (or one), then the files that failed to load')
    .option('--env <env>', 'only this environment')
    .option('--json', 'print JSON: { dags, importErrors }')
    .action(async (opts: { env?: string; json?: boolean }, cmd: Command) => {
      const config = await configFor(cmd);
      const registry = await loadRegistry(config, opts.env);
      const rows = registry.list(opts.env).map((l) => summarizeDag(l, config.rootDir));
      const importErrors = registry.errors(opts.env).map((e) => errorJson(e, config.rootDir));
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ dags: rows, importErrors }, null, 2)}\n`);
        return;
      }
      printTable(
        rows.map((r) => ({ ...r, schedule: r.schedule ?? '(manual)', tags: r.tags.join(',') })),
        false,
      );
      printImportErrors(registry.errors(opts.env), config.rootDir);
    });
  dags
    .command('show')
    .description(
      'Show one DAG: tasks, dependencies, retries, timeouts, params schema and next schedule ticks',
    )
    .argument('<dag>', 'DAG id')
    .option('--env <env>', 'environment (default: the config’s defaultEnv)')
    .option('--json', 'print JSON')
    .action(async (dagId: string, opts: { env?: string; json?: boolean }, cmd: Command) => {
      const config = await configFor(cmd);
      const env = opts.env ?? config.defaultEnv;
      const registry = await loadRegistry(config, env);
      const details = describeDag(registry.get(env, dagId), config.rootDir, new Date());
      if (opts.json) process.stdout.write(`${JSON.stringify(details, null, 2)}\n`);
      else printDetails(details);
    });
  dags
    .command('validate')
    .description('Load every DAG file; exit 1 listing every import error')
    .option('--env <env>', 'only this environment')
    .action(async (opts: { env?: string }, cmd: Command) => {
      const config = await configFor(cmd);
      const registry = await loadRegistry(config, opts.env);
      const errors = registry.errors(opts.env);
      const count = registry.list(opts.env).length;
      printImportErrors(errors, config.rootDir);
      process.stdout.write(
        `${count} DAG${count === 1 ? '' : 's'} loaded, ${errors.length} import error${errors.length === 1 ? '' : 's'}\n`,
      );
      if (errors.length) process.exitCode = 1;
    });
  return dags;
}

function errorJson(e: RegistryImportError, rootDir: string) {
  return { ...e, file: relative(rootDir, e.file) };
}

function printImportErrors(errors: RegistryImportError[], rootDir: string): void {
  if (!errors.length) return;
  process.stdout.write(`\nImport errors (${errors.length}):\n`);
  for (const e of errors) {
    const at = `${relative(rootDir, e.file)}${e.line ? `:${e.line}:${e.column ?? 1}` : ''}`;
    process.stdout.write(`  [${e.env}] ${at} ${e.message.replaceAll('\n', '\n    ')}\n`);
  }
}

function printDetails(d: DagDetails): void {
  const line = (k: string, v: unknown) =>
    v === null || v === '' ? undefined : process.stdout.write(`${`${k}:`.padEnd(15)}${String(v)}\n`);
  line('DAG', `${d.id} (${d.env})`);
  line('description', d.description);
  line('owner', d.owner);
  line('tags', d.tags.join(', '));
  line('file', d.definedAt ?? d.file);
  line('version', d.version);
  line('schedule', d.schedule ? `${d.schedule} (${d.timezone})` : '(manual only)');
  line('catchup', d.catchup);
  line('maxActiveRuns', d.maxActiveRuns);
  const local = new Intl.DateTimeFormat('sv-SE', {
    timeZone: d.timezone,
    dateStyle: 'short',
    timeStyle: 'short',
  });
  if (d.nextRuns.length) line('next runs', d.nextRuns.map((t) => local.format(new Date(t))).join(', '));
  process.stdout.write('\n');
  printTable(
    d.taskDetails.map((t) => ({
      task: t.id,
      kind: t.kind,
      after: t.after.join(',') || '-',
      trigger: t.triggerRule,
      retries: t.retries
        ? `${t.retries} (${t.retryBackoff} from ${t.retryDelayMs}ms, cap ${t.maxRetryDelayMs}ms)`
        : 0,
      timeout: t.timeoutMs === null ? '-' : `${t.timeoutMs}ms`,
    })),
    false,
  );
  process.stdout.write(`\nparams (JSON Schema):\n${JSON.stringify(d.params, null, 2)}\n`);
}
