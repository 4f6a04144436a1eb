/** The `airclutch` command line: argument parsing only, over the same library functions the API uses. @module */
import { Command, CommanderError } from 'commander';
import { isAirclutchError } from '../lib/errors.ts';
import { approvalsCommand } from './commands/approvals-command.ts';
import { auditCommand } from './commands/audit-command.ts';
import { backfillCommand } from './commands/backfill-command.ts';
import { dagsCommand } from './commands/dags-command.ts';
import { dbCommand } from './commands/db-command.ts';
import { devCommand } from './commands/dev-command.ts';
import { devIdpCommand } from './commands/dev-idp-command.ts';
import { doctorCommand } from './commands/doctor-command.ts';
import { loginCommand } from './commands/login-command.ts';
import { policyCommand } from './commands/policy-command.ts';
import { runsCommand } from './commands/runs-command.ts';
import { serverCommand } from './commands/server-command.ts';
import { triggerCommand } from './commands/trigger-command.ts';
import { whoamiCommand } from './commands/whoami-command.ts';

export function buildProgram(): Command {
  const program = new Command('airclutch')
    .description('Trust-aware workflow orchestration for TypeScript')
    .option('-c, --config <file>', 'config file (default: airclutch.config.{ts,yaml} in the current folder)')
    .showHelpAfterError()
    .exitOverride();
  program.addCommand(devCommand());
  program.addCommand(dagsCommand());
  program.addCommand(triggerCommand());
  program.addCommand(approvalsCommand());
  program.addCommand(runsCommand());
  program.addCommand(backfillCommand());
  program.addCommand(dbCommand());
  program.addCommand(policyCommand());
  program.addCommand(devIdpCommand());
  program.addCommand(loginCommand());
  program.addCommand(whoamiCommand());
  program.addCommand(doctorCommand());
  program.addCommand(auditCommand());
  program.addCommand(serverCommand());
  return program;
}

/** Runs the CLI. Domain errors print their code and message; exit status 1 (2 for usage errors). */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
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
