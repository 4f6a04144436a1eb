import { afterEach, describe, expect, it } from 'vitest';
import { WriteBatcher } from '../../src/store/write-batcher.ts';
import { createTestDb, DIALECTS, type TestDb } from '../helpers/test-db.ts';

describe.each(DIALECTS)('write batcher on %s', (dialect) => {
  let db: TestDb | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
  });

  const dag = (id: string) => ({
    env: 'dev',
    dag_id: id,
    version: 'v1',
    file: 'f.ts',
    description: null,
    owner: null,
    tags: '[]',
    schedule: null,
    timezone: null,
    params_schema: '{}',
    catchup: 0,
    max_active_runs: 1,
    is_paused: 0,
    last_scheduled_at: null,
    updated_at: 1,
  });

  it('commits concurrent jobs together, and a failing job is rolled back alone', async () => {
    db = await createTestDb(dialect);
    const writes = new WriteBatcher(db);
    const results = await Promise.allSettled([
      writes.run(async (trx) => {
        await trx.insertInto('dags').values(dag('a')).execute();
        return 'a';
      }),
      writes.run(async (trx) => {
        await trx.insertInto('dags').values(dag('b')).execute();
        // A duplicate key: this job fails after its first write, which must not survive.
        await trx.insertInto('dags').values(dag('a')).execute();
        return 'b';
      }),
      writes.run(async (trx) => {
        await trx.insertInto('dags').values(dag('c')).execute();
        return 'c';
      }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const ids = (await db.kysely.selectFrom('dags').select('dag_id').orderBy('dag_id').execute()).map(
      (r) => r.dag_id,
    );
    expect(ids).toEqual(['a', 'c']);
  });
});
