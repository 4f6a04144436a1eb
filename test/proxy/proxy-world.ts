/**
 * Airclutch's HTTP server with two Airflow-backed environments, `staging` and `prod`, each its own
 * contract-validating fake Airflow, and the dev IdP minting real tokens: the world the proxy tests
 * drive with requests shaped like Airflow's official clients'.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerConfig } from '../../src/http/server-config.ts';
import { FakeAirflow } from '../airflow/fake-airflow.ts';
import { type HttpWorld, startHttpWorld } from '../http/http-world.ts';

/** What `apache-airflow-client` (Python, OpenAPI Generator) sends with every call. */
export const PYTHON_CLIENT_HEADERS = {
  'user-agent': 'OpenAPI-Generator/3.0.2/python',
  accept: 'application/json',
};

/**
 * The CI service (`Service::"ci-bot"`, a client-credentials token) sees only the DAGs tagged
 * `team-ci`, may trigger `ci_build` in staging at once, may only ask for it in prod, and has no
 * permit to read Airflow's variables. Engineers read everything and approve prod runs.
 */
export const POLICIES = (env: string) => `
@reason("the CI service sees its own DAGs")
permit (principal == Service::"ci-bot", action in Action::"read", resource)
  when { resource is Dag && resource.tags.contains("team-ci") };
@reason("the CI service sees the runs of its own DAGs")
permit (principal == Service::"ci-bot", action in Action::"read", resource)
  when { resource is Run && resource.dag.tags.contains("team-ci") };
${
  env === 'staging'
    ? `@reason("CI may build in staging")
permit (principal == Service::"ci-bot", action == Action::"trigger", resource == Dag::"staging/ci_build");
@reason("CI may stop its staging builds")
permit (principal == Service::"ci-bot", action == Action::"cancel", resource) when { resource is Run && resource.dag == Dag::"staging/ci_build" };`
    : `@reason("CI may ask for a prod build; an engineer approves")
permit (principal == Service::"ci-bot", action == Action::"requestTrigger", resource == Dag::"prod/ci_build");`
}
@reason("engineers see everything")
permit (principal in Group::"data-eng", action in Action::"read", resource);
@reason("engineers approve runs")
permit (principal in Group::"data-eng", action == Action::"approve", resource);
@reason("engineers pause and retry")
permit (principal in Group::"data-eng", action in [Action::"pause", Action::"clearTask"], resource);
@reason("this run is kept as it ended for an audit: nobody clears it")
forbid (principal, action == Action::"clearTask", resource == Run::"scheduled__2026-01-03T00:00:00.000Z");
@reason("engineers ask to unpause")
permit (principal in Group::"data-eng", action == Action::"requestUnpause", resource);
@reason("leads edit Airflow's variables")
permit (principal in Group::"data-leads", action == Action::"writeVariables", resource);
@reason("engineers read Airflow's variables")
permit (principal in Group::"data-eng", action == Action::"readVariables", resource);
`;

export interface ProxyWorld {
  readonly h: HttpWorld;
  readonly staging: FakeAirflow;
  readonly prod: FakeAirflow;
  close(): Promise<void>;
}

function addDags(fake: FakeAirflow): void {
  fake.addDag({
    dag_id: 'ci_build',
    description: 'Builds and tests',
    owners: ['ci'],
    tags: ['team-ci'],
    params: {
      branch: {
        __class: 'airflow.sdk.definitions.param.Param',
        value: 'main',
        description: null,
        schema: { type: 'string' },
      },
      api_token: {
        __class: 'airflow.sdk.definitions.param.Param',
        value: 'none',
        description: 'token for the artefact store',
        schema: { type: 'string', sensitive: true },
      },
    },
  });
  fake.addDag({ dag_id: 'customer_export', owners: ['data-eng'], tags: ['pii'] });
  fake.addDag({ dag_id: 'revenue_daily', owners: ['data-eng'], tags: ['finance'], is_paused: true });
}

export async function startProxyWorld(
  o: {
    api?: 'v1' | 'v2';
    proxy?: Partial<ServerConfig['airflowProxy']>;
    extraDags?: number;
    pollIntervalMs?: number;
  } = {},
): Promise<ProxyWorld> {
  const api = o.api ?? 'v2';
  const staging = await FakeAirflow.start({ api });
  const prod = await FakeAirflow.start({ api });
  for (const f of [staging, prod]) {
    addDags(f);
    for (let i = 0; i < (o.extraDags ?? 0); i++)
      f.addDag({ dag_id: `other_${String(i).padStart(3, '0')}`, tags: ['x'] });
  }
  const auth = (f: FakeAirflow) =>
    api === 'v2'
      ? `{ kind: password, username: ${f.credentials.username}, password: { env: PROXY_TEST_AIRFLOW_PW } }`
      : `{ kind: basic, username: ${f.credentials.username}, password: { env: PROXY_TEST_AIRFLOW_PW } }`;
  process.env.PROXY_TEST_AIRFLOW_PW = staging.credentials.password;
  const envBlock = (name: string, f: FakeAirflow) => [
    `  ${name}:`,
    `    policies: [${name}-policies]`,
    '    approvals: { quorum: 1 }',
    '    airflow:',
    `      baseUrl: ${f.url}`,
    `      api: ${api}`,
    `      auth: ${auth(f)}`,
    `      pollIntervalMs: ${o.pollIntervalMs ?? 60_000}`,
    `      maxPollIntervalMs: ${o.pollIntervalMs ?? 60_000}`,
    '      retryBaseMs: 1',
    '      retries: 1',
  ];
  const config = [
    'environments:',
    '  dev:',
    '    dags: [dags]',
    '    policies: [policies]',
    ...envBlock('staging', staging),
    ...envBlock('prod', prod),
    '',
  ].join('\n');
  const h = await startHttpWorld({
    config,
    files: {
      'staging-policies/ci.cedar': POLICIES('staging'),
      'prod-policies/ci.cedar': POLICIES('prod'),
    },
    server: {
      airflowProxy: { ...parseProxyDefaults(), ...o.proxy },
      rateLimit: { max: 100_000, windowMs: 60_000, tokenFailuresMax: 30 },
    },
  });
  mkdirSync(join(h.world.dir, 'secrets'), { recursive: true });
  writeFileSync(join(h.world.dir, 'secrets/.keep'), '');
  h.world.airflow!.executor.start();
  return {
    h,
    staging,
    prod,
    async close() {
      await h.close();
      await staging.close();
      await prod.close();
    },
  };
}

function parseProxyDefaults(): ServerConfig['airflowProxy'] {
  return {
    enabled: true,
    bodyLimitBytes: 1_048_576,
    // Generous: a trigger's answer waits for the executor's delivery, which a loaded machine slows.
    timeoutMs: 60_000,
    maxListItems: 50_000,
    auditReads: { mode: 'all', sampleRate: 0.1, windowMs: 60_000 },
  };
}
