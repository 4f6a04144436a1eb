/** The catalogue: remote DAGs as Airclutch DAGs, their params schema and the assumptions made, versions and paging. */
import { afterEach, describe, expect, it } from 'vitest';
import { airflowAuth } from '../../src/airflow/airflow-auth.ts';
import { AirflowCatalog } from '../../src/airflow/airflow-catalog.ts';
import { AirflowClient } from '../../src/airflow/airflow-client.ts';
import { paramsSchemaOf } from '../../src/airflow/airflow-params-schema.ts';
import { FakeAirflow } from './fake-airflow.ts';

let fake: FakeAirflow | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function catalog(api: 'v1' | 'v2') {
  fake = await FakeAirflow.start({ api });
  const auth = airflowAuth(
    api === 'v2'
      ? { kind: 'password', username: fake.credentials.username, password: { env: 'P' } }
      : { kind: 'basic', username: fake.credentials.username, password: { env: 'P' } },
    { baseUrl: fake.url, timeoutMs: 5000, env: { P: fake.credentials.password } },
  );
  const client = new AirflowClient({ baseUrl: fake.url, api, auth, pageSize: 3, retryBaseMs: 1 });
  return { fake, c: new AirflowCatalog({ env: 'prod', client }) };
}

describe('Airflow params as a JSON Schema', () => {
  it('keeps the schema Airflow gives and says which types it assumed where it gives none', () => {
    const r = paramsSchemaOf({
      rows: {
        __class: 'airflow.sdk.definitions.param.Param',
        value: 10,
        description: 'how many',
        schema: { type: 'integer', minimum: 1 },
      },
      ratio: { value: 0.5, schema: {} },
      tags: { value: ['a'], schema: {} },
      target: { value: null, schema: {} },
      plain: 'x',
    });
    expect(r.schema).toEqual({
      type: 'object',
      properties: {
        rows: { type: 'integer', minimum: 1, description: 'how many', default: 10 },
        ratio: { type: 'number', default: 0.5 },
        tags: { type: 'array', default: ['a'] },
        target: { type: 'string' },
        plain: { type: 'string', default: 'x' },
      },
      required: ['target'],
      additionalProperties: false,
    });
    expect(r.assumptions).toEqual([
      'ratio: no schema in Airflow; assumed a number from its default 0.5',
      'tags: no schema in Airflow; assumed an array from its default ["a"]',
      'target: no schema in Airflow and no default; assumed a string',
      'plain: no schema in Airflow; assumed a string from its default "x"',
    ]);
  });
});

describe.each(['v1', 'v2'] as const)('the catalogue on the %s API', (api) => {
  it('brings in every DAG with owners, tags, params and a version; a re-parse alone keeps the version', async () => {
    const { fake, c } = await catalog(api);
    for (let i = 0; i < 7; i++)
      fake.addDag({
        dag_id: `dag_${i}`,
        owners: ['data-eng', 'ops'],
        tags: ['pii'],
        params: { rows: { value: i, schema: { type: 'integer' } } },
      });
    const change = await c.refresh();
    expect(change.added).toHaveLength(7);
    const d = c.find('dag_3');
    expect(d?.dag.options).toMatchObject({
      owners: ['data-eng', 'ops'],
      owner: 'data-eng, ops',
      tags: ['pii'],
      schedule: null,
    });
    expect(await d?.dag.parseParams({})).toEqual({ rows: 3 });
    const bad = await d?.dag
      .parseParams({ rows: 'x', other: 1 })
      .catch((e: { code: string; message: string }) => e);
    expect(bad).toMatchObject({ code: 'PARAMS_INVALID' });
    expect((bad as { message: string }).message).toContain('unknown param; this DAG takes rows');
    const version = d?.version;
    fake.dags.get('dag_3')!.last_parsed = '2026-12-01T00:00:00.000Z';
    await c.refresh();
    expect(c.find('dag_3')?.version).toBe(version);
    fake.dags.get('dag_3')!.tags = ['pii', 'finance'];
    fake.dags.get('dag_3')!.last_parsed = '2026-12-01T00:01:00.000Z';
    expect((await c.refresh()).changed).toEqual(['dag_3']);
    expect(fake.violations).toEqual([]);
  });

  it('keeps the last good catalogue when Airflow cannot be reached, and says so', async () => {
    const { fake, c } = await catalog(api);
    fake.addDag({ dag_id: 'a' });
    await c.refresh();
    await fake.stop();
    const e = await c.refresh().catch((x: { code: string }) => x);
    expect(e).toMatchObject({ code: 'AIRFLOW_UNREACHABLE' });
    expect(c.find('a')).toBeDefined();
    expect(c.errors().map((x) => x.message)).toEqual([
      expect.stringMatching(/^the Airflow catalogue could not be refreshed: Airflow at .* cannot be reached/),
    ]);
  });

  it('reports a DAG Airflow cannot import, and one whose id Airclutch cannot take', async () => {
    const { fake, c } = await catalog(api);
    fake.addDag({ dag_id: 'broken', has_import_errors: true, fileloc: '/opt/airflow/dags/broken.py' });
    fake.addDag({ dag_id: `x${'y'.repeat(200)}` });
    await c.refresh();
    const messages = c.errors().map((e) => e.message);
    expect(messages).toContain(
      "Airflow reports import errors in /opt/airflow/dags/broken.py (see Airflow's import errors)",
    );
    expect(
      messages.some((m) =>
        m.startsWith(`DAG x${'y'.repeat(200)} could not be brought in from Airflow: DAG id`),
      ),
    ).toBe(true);
  });
});
