/**
 * Airclutch config: one DAG folder deployed to three environments. `policies/` holds the roles that
 * apply everywhere; each DAG's own rules live beside it (dags/hello.cedar).
 */
import { defineConfig } from 'airclutch';

const project = { dags: ['dags'], policies: ['policies'] };

export default defineConfig({
  dataDir: '.airclutch',
  defaultEnv: 'dev',
  environments: { dev: project, staging: project, prod: project },
});
