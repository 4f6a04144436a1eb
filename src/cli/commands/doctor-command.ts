/** `airclutch doctor`: checks each trusted issuer and prints every problem with its fix. @module */
import { Command } from 'commander';
import { airflowDoctor } from '../../airflow/airflow-doctor.ts';
import { identityDoctor } from '../../identity/identity-doctor.ts';
import { configFor, printTable } from '../cli-context.ts';

export function doctorCommand(): Command {
  return new Command('doctor')
    .description(
      'Check identity setup (discovery, JWKS, key algorithms, clock skew, token lifetimes, scopes) and each Airflow environment',
    )
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const config = await configFor(cmd);
      const findings = await identityDoctor(config.identity);
      const airflow = await airflowDoctor(config);
      printTable(
        [...findings, ...airflow.map((f) => ({ ...f, issuer: `airflow ${f.env}` }))].map((f) => ({
          status: f.ok ? 'ok' : 'PROBLEM',
          issuer: f.issuer,
          check: f.check,
          detail: f.detail,
          fix: f.fix ?? '',
        })),
        opts.json,
      );
      if ([...findings, ...airflow].some((f) => !f.ok)) process.exitCode = 1;
    });
}
