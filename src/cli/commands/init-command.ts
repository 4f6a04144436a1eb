/** `airclutch init`: scaffolds a working project in the current folder, never overwriting a file. @module */
import { Command } from 'commander';
import { scaffoldProject } from '../scaffold-project.ts';

export function initCommand(): Command {
  return new Command('init')
    .description(
      'Scaffold a project here: config, an example DAG with its policy and tests, roles (never overwrites a file)',
    )
    .action(() => {
      const r = scaffoldProject(process.cwd());
      const lines = [
        ...r.created.map((f) => `  created ${f}`),
        ...r.kept.map((f) => `  kept    ${f} (already there)`),
        ...(r.gitignoreUpdated ? ['  ignored .airclutch/ in .gitignore'] : []),
        '',
        'Next:',
        '  npx airclutch policy test      # the policy tests in dags/hello.cedar-test.yaml',
        '  npx airclutch dags validate',
        '  npx airclutch dev              # dev IdP, API on http://127.0.0.1:8080, schedules',
        '  npx airclutch trigger hello --as eng@example.com -p name=you --wait',
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
