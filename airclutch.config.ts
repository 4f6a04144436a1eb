/**
 * Airclutch's own dev config: `npm start` runs the example DAGs and policies. The same DAG folder
 * backs three environments, as one repository deploys to dev, staging and prod; the policies in
 * `examples/policies` give each environment its own rules.
 */
import { defineConfig } from './src/index.ts';

const examples = { dags: ['examples/dags'], policies: ['examples/policies'] };

export default defineConfig({
  defaultEnv: 'dev',
  environments: {
    dev: examples,
    staging: examples,
    // Two people approve in prod (the README's story: lead@ and lead2@ of the dev IdP).
    prod: { ...examples, approvals: { quorum: 2 } },
  },
});
