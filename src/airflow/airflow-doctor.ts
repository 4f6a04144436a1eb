/**
 * `airclutch doctor` for the Airflow bridge: per Airflow-backed environment, checks that Airflow is
 * reachable, that the configured API version matches, that the service identity authenticates (and
 * shows its token's lifetime and expiry), that it may list DAGs and create DAG runs, and how far
 * Airflow's clock is from Airclutch's. Each problem comes with its fix.
 * @module
 */
import type { AirclutchConfig } from '../config/config-schema.ts';
import { describeThrown, isAirclutchError } from '../lib/errors.ts';
import type { AirflowClient } from './airflow-client.ts';
import { createAirflowBridge } from './create-airflow-bridge.ts';

export interface AirflowFinding {
  readonly env: string;
  readonly check: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly fix?: string | undefined;
}

/** Clock skew above this is reported: token lifetimes and logical dates depend on both clocks. */
const MAX_SKEW_MS = 30_000;

/**
 * @example
 * for (const f of await airflowDoctor(config)) console.log(f.ok ? 'ok' : 'PROBLEM', f.env, f.check, f.detail);
 */
export async function airflowDoctor(
  config: Pick<AirclutchConfig, 'environments' | 'rootDir'>,
  options: { now?: () => number; env?: NodeJS.ProcessEnv } = {},
): Promise<AirflowFinding[]> {
  const bridge = createAirflowBridge(config, options);
  const all = await Promise.all(
    [...bridge.environments].map(([env, e]) => checkEnv(env, e.client, options.now ?? Date.now)),
  );
  return all.flat();
}

async function checkEnv(env: string, client: AirflowClient, now: () => number): Promise<AirflowFinding[]> {
  const out: AirflowFinding[] = [];
  const add = (check: string, ok: boolean, detail: string, fix?: string) =>
    out.push({ env, check, ok, detail, ...(fix ? { fix } : {}) });
  let date: number | undefined;
  try {
    const before = now();
    const v = await client.version();
    date = v.date;
    add('reachable', true, `${client.baseUrl} answers: Airflow ${v.version}`);
    if (date !== undefined) {
      // The Date header has one-second resolution; half the round trip is the best estimate of when it was stamped.
      const skew = date - (before + (now() - before) / 2);
      const ok = Math.abs(skew) <= MAX_SKEW_MS + 1_000;
      add(
        'clock',
        ok,
        `Airflow's clock is ${Math.round(skew / 1000)} s ${skew >= 0 ? 'ahead of' : 'behind'} Airclutch's`,
        ok ? undefined : 'synchronise both hosts with NTP',
      );
    }
  } catch (e) {
    if (isAirclutchError(e) && e.code === 'AIRFLOW_REFUSED' && e.details?.status === 404) {
      // The server answered, but has no version endpoint for this API: a version mismatch.
      add('reachable', true, `${client.baseUrl} answers`);
    } else {
      add(
        'reachable',
        false,
        describeThrown(e),
        `check airflow.baseUrl (${client.baseUrl}) and that this host may reach Airflow's API`,
      );
      return out;
    }
  }
  try {
    const version = await client.checkVersion();
    add('api version', true, `airflow.api '${client.api}' matches Airflow ${version}`);
  } catch (e) {
    add(
      'api version',
      false,
      describeThrown(e),
      `set airflow.api for environment ${env} as the message says`,
    );
    return out;
  }
  try {
    const header = await client.auth.header();
    const facts = client.auth.tokenFacts();
    const what = header.startsWith('Basic')
      ? 'basic auth credentials read from their source'
      : 'a token was issued';
    const life =
      facts?.expiresAt !== undefined && facts.issuedAt !== undefined
        ? `; it lives ${Math.round((facts.expiresAt - facts.issuedAt) / 1000)} s and expires at ${new Date(facts.expiresAt).toISOString()}`
        : '';
    add('authentication', true, `${client.auth.kind}: ${what}${life}`);
  } catch (e) {
    add(
      'authentication',
      false,
      describeThrown(e),
      'check the credential source and the service account (docs/airflow.md)',
    );
    return out;
  }
  try {
    const dags = await client.listDags();
    add('list DAGs', true, `the service account sees ${dags.length} DAG${dags.length === 1 ? '' : 's'}`);
  } catch (e) {
    add(
      'list DAGs',
      false,
      describeThrown(e),
      'give the service account read access to DAGs (docs/airflow.md)',
    );
    return out;
  }
  await checkTrigger(client, add);
  return out;
}

/**
 * Creating a run is probed on a DAG id that cannot exist: Airflow answers 404 to an account that
 * may create runs, and 403 to one that may not. Nothing is created either way.
 */
async function checkTrigger(
  client: AirflowClient,
  add: (check: string, ok: boolean, detail: string, fix?: string) => void,
): Promise<void> {
  try {
    await client.triggerRun({
      dagId: '__airclutch_doctor_probe__',
      runId: 'airclutch__doctor_probe',
      conf: {},
      note: 'airclutch doctor probe',
      logicalDate: new Date(0).toISOString(),
    });
    add(
      'trigger',
      false,
      'a DAG named __airclutch_doctor_probe__ exists and a probe run was created in it',
      'delete that DAG: it is only a probe name',
    );
  } catch (e) {
    const status = isAirclutchError(e) ? e.details?.status : undefined;
    if (status === 404)
      add('trigger', true, 'the service account may create DAG runs (probe on a missing DAG answered 404)');
    else if (status === 403)
      add(
        'trigger',
        false,
        'the service account may not create DAG runs (403)',
        'grant it DAG Run create (docs/airflow.md)',
      );
    else add('trigger', false, describeThrown(e));
  }
}
