/**
 * The client-credentials kind against a real IdP (the dev oidc-provider): the bridge gets a bearer
 * token for its OAuth client, and an Airflow whose auth manager trusts that IdP (the fake verifies the
 * JWT against the IdP's JWKS) accepts it; a wrong secret is refused by the IdP.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { airflowAuth } from '../../src/airflow/airflow-auth.ts';
import { AirflowClient } from '../../src/airflow/airflow-client.ts';
import { DEV_SERVICE_CLIENT } from '../../src/identity/demo-users.ts';
import { type DevIdp, startDevIdp } from '../../src/identity/dev-idp.ts';
import { AirclutchError } from '../../src/lib/errors.ts';
import { FakeAirflow } from './fake-airflow.ts';

let idp: DevIdp | undefined;
let fake: FakeAirflow | undefined;
let dir: string | undefined;
afterEach(async () => {
  await fake?.close();
  await idp?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  fake = undefined;
  idp = undefined;
  dir = undefined;
});

async function setup() {
  dir = mkdtempSync(join(tmpdir(), 'af-cc-'));
  idp = await startDevIdp({ port: 0, dataDir: dir, accessTokenTtlSec: 600, quiet: true });
  const jwks = createRemoteJWKSet(new URL(`${idp.issuer}/jwks`));
  const issuer = idp.issuer;
  fake = await FakeAirflow.start({
    api: 'v2',
    trustBearer: async (token) => {
      try {
        await jwtVerify(token, jwks, { issuer });
        return true;
      } catch {
        return false;
      }
    },
  });
  return { idp, fake };
}

function client(issuer: string, fakeUrl: string, secret: string) {
  const auth = airflowAuth(
    {
      kind: 'client-credentials',
      tokenUrl: `${issuer}/token`,
      clientId: DEV_SERVICE_CLIENT.clientId,
      clientSecret: { env: 'CS' },
      scope: 'airclutch:view',
    },
    { baseUrl: fakeUrl, timeoutMs: 5_000, env: { CS: secret } },
  );
  return new AirflowClient({ baseUrl: fakeUrl, api: 'v2', auth, retries: 0 });
}

describe('client-credentials auth against a real IdP', () => {
  it('gets a bearer token from the IdP that an Airflow trusting the IdP accepts, with its lifetime', async () => {
    const { idp, fake } = await setup();
    fake.addDag({ dag_id: 'a' });
    const c = client(idp.issuer, fake.url, DEV_SERVICE_CLIENT.clientSecret);
    expect((await c.listDags()).map((d) => d.dagId)).toEqual(['a']);
    const facts = c.auth.tokenFacts();
    expect(
      facts?.expiresAt !== undefined && facts.issuedAt !== undefined ? facts.expiresAt - facts.issuedAt : 0,
    ).toBe(600_000);
    expect(fake.tokensIssued).toBe(0);
    expect(fake.violations).toEqual([]);
  });

  it('refuses a wrong client secret at the IdP, naming the source and not the secret', async () => {
    const { idp, fake } = await setup();
    const c = client(idp.issuer, fake.url, 'not-the-secret-42');
    const e = await c.listDags().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AirclutchError);
    expect((e as AirclutchError).code).toBe('AIRFLOW_AUTH_FAILED');
    expect((e as AirclutchError).message).toMatch(
      /^the token endpoint http:\/\/127\.0\.0\.1:\d+\/token refused the credentials \(HTTP 401\): check the secret in env CS/,
    );
    expect((e as AirclutchError).message).not.toContain('not-the-secret-42');
  });
});
