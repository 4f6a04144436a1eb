/** Airclutch's own dev config: `npm start` runs the example DAGs and policies. */
import { defineConfig } from './src/index.ts';

export default defineConfig({
  environments: { dev: { dags: ['examples/dags'], policies: ['examples/policies'] } },
});
