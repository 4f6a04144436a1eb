import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Uses the configured PostgreSQL, or starts a throwaway one when none answers.
    globalSetup: ['test/helpers/postgres-global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Two cores: more workers only add contention for SQLite fsyncs and PostgreSQL.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
