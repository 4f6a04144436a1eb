import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Uses the configured PostgreSQL, or starts a throwaway one when none answers.
    globalSetup: ['test/helpers/postgres-global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // expect.poll waits for what the system reaches on its own time: 1 s (vitest's default) is
    // shorter than a task thread's first start on a loaded machine.
    expect: { poll: { timeout: 20_000, interval: 50 } },
    pool: 'forks',
    // Two cores: more workers only add contention for SQLite fsyncs and PostgreSQL.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
