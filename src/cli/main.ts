/** The `airclutch` command line: argument parsing only, over the same library functions the API uses. @module */
import { Command, CommanderError } from 'commander';
import { airclutchVersion } from '../lib/airclutch-version.ts';
import { type ErrorCode, isAirclutchError } from '../lib/errors.ts';
import { colorEnabled, red } from './color-enabled.ts';
import { COMMANDS } from './command-index.ts';

/** Exit statuses, documented in README.md ("Exit codes"). */
export const EXIT = {
  ok: 0,
  /** Refused or failed: a domain error (policy, token, validation), or a run that did not succeed. */
  failed: 1,
  /** Usage: an unknown command or option, a missing argument. */
  usage: 2,
  /** No Airclutch server to talk to: nothing answers, not Airclutch, or another version. */
  server: 3,
} as const;

const SERVER_CODES: ReadonlySet<ErrorCode> = new Set([
  'SERVER_UNREACHABLE',
  'SERVER_NOT_AIRCLUTCH',
  'SERVER_VERSION_MISMATCH',
]);

/**
 * The program for `argv`: the command it names is loaded whole; the others are only listed (with
 * their summaries), which is all `airclutch --help` and a mistyped name need.
 */
export async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command('airclutch')
    .description('Trust-aware workflow orchestration for TypeScript')
    .version(airclutchVersion(), '-V, --version', 'print the version')
    .option('-c, --config <file>', 'config file (default: airclutch.config.{ts,yaml} in the current folder)')
    .option(
      '-s, --server <url>',
      'the Airclutch server (default: AIRCLUTCH_URL, the `airclutch login` profile, then in dev mode the local dev server)',
    )
    .showHelpAfterError()
    .exitOverride();
  const named = commandNamed(argv);
  for (const entry of COMMANDS) {
    program.addCommand(
      entry === named ? await entry.load() : new Command(entry.name).description(entry.summary),
    );
  }
  return program;
}

/** The command `argv` runs: the first argument after the options that names one. */
function commandNamed(argv: readonly string[]) {
  for (let i = 2; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-c' || arg === '--config' || arg === '-s' || arg === '--server') {
      i++;
      continue;
    }
    // `airclutch help trigger` shows the help of `trigger`, so that one is loaded.
    if (arg.startsWith('-') || arg === 'help') continue;
    return COMMANDS.find((c) => c.name === arg);
  }
  return undefined;
}

/**
 * Runs the CLI. Domain errors print their code and message; exit statuses are `EXIT`. A closed
 * stdout (`airclutch dags list | head`) ends the command quietly with status 0, like other CLIs.
 */
export async function main(argv: string[]): Promise<void> {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(EXIT.ok);
  });
  try {
    const program = await buildProgram(argv);
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    if (isAirclutchError(e)) {
      process.stderr.write(`${red(`error[${e.code}]`, colorEnabled(process.stderr))}: ${e.message}\n`);
      process.exitCode = SERVER_CODES.has(e.code) ? EXIT.server : EXIT.failed;
      return;
    }
    throw e;
  }
}
