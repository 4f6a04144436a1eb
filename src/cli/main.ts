/** The `airclutch` command line: argument parsing only, over the same library functions the API uses. @module */
import { Command, CommanderError } from 'commander';
import { isAirclutchError } from '../lib/errors.ts';
import { COMMANDS } from './command-index.ts';

/**
 * The program for `argv`: the command it names is loaded whole; the others are only listed (with
 * their summaries), which is all `airclutch --help` and a mistyped name need.
 */
export async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command('airclutch')
    .description('Trust-aware workflow orchestration for TypeScript')
    .option('-c, --config <file>', 'config file (default: airclutch.config.{ts,yaml} in the current folder)')
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
    if (arg === '-c' || arg === '--config') {
      i++;
      continue;
    }
    // `airclutch help trigger` shows the help of `trigger`, so that one is loaded.
    if (arg.startsWith('-') || arg === 'help') continue;
    return COMMANDS.find((c) => c.name === arg);
  }
  return undefined;
}

/** Runs the CLI. Domain errors print their code and message; exit status 1 (2 for usage errors). */
export async function main(argv: string[]): Promise<void> {
  try {
    const program = await buildProgram(argv);
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    if (isAirclutchError(e)) {
      process.stderr.write(`error[${e.code}]: ${e.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw e;
  }
}
