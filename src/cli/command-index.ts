/**
 * Every CLI command: its name, the summary `airclutch --help` shows, and its module, loaded only
 * when the command runs. A command module pulls in what it needs (the store, Cedar, the HTTP
 * server); loading all of them for every invocation cost about a second.
 * @module
 */
import type { Command } from 'commander';

export interface CommandEntry {
  readonly name: string;
  /** The same text as the command's own `.description()`; a test keeps the two in step. */
  readonly summary: string;
  load(): Promise<Command>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'init',
    summary:
      'Scaffold a project here: config, an example DAG with its policy and tests, roles (never overwrites a file)',
    load: async () => (await import('./commands/init-command.ts')).initCommand(),
  },
  {
    name: 'dev',
    summary:
      'Run Airclutch in dev mode: dev IdP, embedded store, scheduler and executor, DAGs reloading on change',
    load: async () => (await import('./commands/dev-command.ts')).devCommand(),
  },
  {
    name: 'scheduler',
    summary:
      'Run only the scheduler: cron ticks become runs through the gate; several may run on one PostgreSQL',
    load: async () => (await import('./commands/scheduler-command.ts')).schedulerCommand(),
  },
  {
    name: 'dags',
    summary: 'List, inspect and validate DAGs',
    load: async () => (await import('./commands/dags-command.ts')).dagsCommand(),
  },
  {
    name: 'trigger',
    summary: 'Start a run of a DAG: it starts now, waits for approval, or is refused, as policy says',
    load: async () => (await import('./commands/trigger-command.ts')).triggerCommand(),
  },
  {
    name: 'approvals',
    summary: 'Approval requests: list them and vote',
    load: async () => (await import('./commands/approvals-command.ts')).approvalsCommand(),
  },
  {
    name: 'airflow',
    summary: 'Airflow-backed DAGs: pause, unpause, clear a failed task',
    load: async () => (await import('./commands/airflow-command.ts')).airflowCommand(),
  },
  {
    name: 'worker',
    summary: 'Run a fleet worker: claim and run ready tasks from the shared PostgreSQL store',
    load: async () => (await import('./commands/worker-command.ts')).workerCommand(),
  },
  {
    name: 'workers',
    summary: 'Fleet workers: list them with their queues and load',
    load: async () => (await import('./commands/workers-command.ts')).workersCommand(),
  },
  {
    name: 'runs',
    summary: 'Inspect runs, their tasks and logs',
    load: async () => (await import('./commands/runs-command.ts')).runsCommand(),
  },
  {
    name: 'backfill',
    summary:
      'Create a run for every schedule tick of a DAG between two dates, each decided by policy for you (ticks that already ran are skipped)',
    load: async () => (await import('./commands/backfill-command.ts')).backfillCommand(),
  },
  {
    name: 'db',
    summary: 'Manage the store',
    load: async () => (await import('./commands/db-command.ts')).dbCommand(),
  },
  {
    name: 'policy',
    summary: 'Validate, test and explain Cedar policies',
    load: async () => (await import('./commands/policy-command.ts')).policyCommand(),
  },
  {
    name: 'dev-idp',
    summary: 'The embedded dev IdP (dev mode only)',
    load: async () => (await import('./commands/dev-idp-command.ts')).devIdpCommand(),
  },
  {
    name: 'login',
    summary: 'Sign in through your IdP in the browser; tokens are kept under ~/.config/airclutch (mode 0600)',
    load: async () => (await import('./commands/login-command.ts')).loginCommand(),
  },
  {
    name: 'whoami',
    summary: 'Show who the server says you are, with your token (--token, AIRCLUTCH_TOKEN, --as or login)',
    load: async () => (await import('./commands/whoami-command.ts')).whoamiCommand(),
  },
  {
    name: 'doctor',
    summary:
      'Check identity setup (discovery, JWKS, key algorithms, clock skew, token lifetimes, scopes) and each Airflow environment',
    load: async () => (await import('./commands/doctor-command.ts')).doctorCommand(),
  },
  {
    name: 'audit',
    summary: 'Verify, query and export the tamper-evident audit trail',
    load: async () => (await import('./commands/audit-command.ts')).auditCommand(),
  },
  {
    name: 'server',
    summary: 'Run Airclutch with its HTTP API on server.host:server.port (AIRCLUTCH_HOST, AIRCLUTCH_PORT)',
    load: async () => (await import('./commands/server-command.ts')).serverCommand(),
  },
  {
    name: 'completion',
    summary: 'Print a shell completion script: airclutch completion bash|zsh',
    load: async () => (await import('./commands/completion-command.ts')).completionCommand(),
  },
];
