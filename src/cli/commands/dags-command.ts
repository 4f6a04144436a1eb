/**
 * `airclutch dags list|show|validate`: list and show ask the server (what it loaded, as the caller may
 * view it); validate loads the project's own DAG files, offline, and says why a file failed to load.
 * @module
 */
import { relative } from 'node:path';
import { Command } from 'commander';
import type { RegistryImportError } from '../../dag/dag-registry.ts';
import type { DagDetails } from '../../dag/describe-dag.ts';
import { uiLinks } from '../../lib/ui-links.ts';
import { apiClient, type ClientFlags, clientOptions } from '../api-client.ts';
import type { DagView } from '../api-views.ts';
import { configFor, loadRegistry, printTable } from '../cli-context.ts';
import { printJson } from '../json-view.ts';

export function dagsCommand(): Command {
  const dags = new Command('dags').description('List, inspect and validate DAGs');
  dags.addCommand(
    clientOptions(
      new Command('list')
        .description(
          'List the DAGs the server has loaded that you may view, and what you may do with each (trigger: allow, approval, deny)',
        )
        .option('--env <env>', 'only this environment')
        .option('--json', 'print JSON: the API view of each DAG'),
    ).action(async (opts: { env?: string; json?: boolean } & ClientFlags, cmd: Command) => {
      const api = await apiClient(cmd, opts);
      const { dags: rows } = await api.get<{ dags: DagView[] }>('/api/v1/dags', { env: opts.env });
      if (opts.json) {
        printJson(rows);
        return;
      }
      printTable(
        rows.map((d) => ({
          id: d.dagId,
          env: d.env,
          schedule: d.schedule ?? '(manual)',
          tasks: d.tasks.length,
          owner: d.owner,
          tags: d.tags.join(','),
          trigger: d.trigger,
        })),
        false,
      );
      process.stdout.write('\n(files that fail to load: `airclutch dags validate` in the project)\n');
    }),
  );
  dags.addCommand(
    clientOptions(
      new Command('show')
        .description(
          'Show one DAG: tasks, dependencies, retries, timeouts, params schema and next schedule ticks',
        )
        .argument('<dag>', 'DAG id')
        .option('--env <env>', 'environment (default: the server’s default environment)')
        .option('--json', 'print JSON'),
    ).action(async (dagId: string, opts: { env?: string; json?: boolean } & ClientFlags, cmd: Command) => {
      const api = await apiClient(cmd, opts);
      const details = await api.get<DagDetails>(`/api/v1/dags/${encodeURIComponent(dagId)}/details`, {
        env: opts.env,
      });
      if (opts.json) printJson(details);
      else printDetails(details, uiLinks(api.server.url).dag(details.env, details.id));
    }),
  );
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

function printImportErrors(errors: RegistryImportError[], rootDir: string): void {
  if (!errors.length) return;
  process.stdout.write(`\nImport errors (${errors.length}):\n`);
  for (const e of errors) {
    const at = `${relative(rootDir, e.file)}${e.line ? `:${e.line}:${e.column ?? 1}` : ''}`;
    process.stdout.write(`  [${e.env}] ${at} ${e.message.replaceAll('\n', '\n    ')}\n`);
  }
}

function printDetails(d: DagDetails, link: string): void {
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
  line('open', link);
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
