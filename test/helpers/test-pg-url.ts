/** Where the PostgreSQL tests connect. @module */

/**
 * `AIRCLUTCH_TEST_DATABASE_URL` (CI, or the throwaway server the global setup started), the older
 * `AIRCLUTCH_TEST_PG_URL`, else the local server at 127.0.0.1:5432 (user postgres, database test).
 */
export function configuredPgUrl(env: NodeJS.ProcessEnv = process.env): string {
  return (
    env.AIRCLUTCH_TEST_DATABASE_URL || env.AIRCLUTCH_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/test'
  );
}
