/**
 * Principal names from real dev-IdP tokens: emails are one principal whatever their case, and no
 * token can produce one of the engine's own service names.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { voteOnApproval } from '../../src/gate/vote.ts';
import { type DevIdp, startDevIdp } from '../../src/identity/dev-idp.ts';
import { identityConfigSchema, trustedIssuerSchema } from '../../src/identity/identity-config.ts';
import { OidcTokenVerifier } from '../../src/identity/oidc-token-verifier.ts';
import type { AirclutchError } from '../../src/lib/errors.ts';
import { createWorld, type World } from '../helpers/gate-world.ts';
import { DIALECTS } from '../helpers/test-db.ts';

const SCHEDULER = { clientId: 'scheduler', clientSecret: 'scheduler-secret' };
const MONTH_END = { clientId: 'dag:dev/month_end', clientSecret: 'month-end-secret' };
const LOOKALIKE = { clientId: 'Scheduler', clientSecret: 'lookalike-secret' };

let dir: string;
let idp: DevIdp;
let verifier: OidcTokenVerifier;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'airclutch-names-'));
  idp = await startDevIdp({
    port: 0,
    dataDir: dir,
    quiet: true,
    // One person whose IdP sends their email in two spellings, and a second approver likewise.
    users: [
      { email: 'Lead@Example.com', name: 'Lena Lead', groups: ['data-eng', 'data-leads'] },
      { email: 'lead@example.com', name: 'Lena Lead', groups: ['data-eng', 'data-leads'] },
      { email: 'Lead2@Example.COM', name: 'Liam Lead', groups: ['data-leads'] },
      { email: 'lead2@example.com', name: 'Liam Lead', groups: ['data-leads'] },
    ],
    serviceClients: [SCHEDULER, MONTH_END, LOOKALIKE],
  });
  verifier = OidcTokenVerifier.fromConfig(
    identityConfigSchema.parse({ devIdp: { port: Number(new URL(idp.issuer).port) } }),
  );
});
afterAll(async () => {
  await idp.close();
  rmSync(dir, { recursive: true, force: true });
});

const as = async (email: string) => verifier.verify(await idp.mintToken(email));
const refusal = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: AirclutchError) => e,
  );

describe('email-derived principal ids', () => {
  it('maps an email claim in any case to one lower-case User id, keeping the display name', async () => {
    const upper = await as('Lead@Example.com');
    const lower = await as('lead@example.com');
    expect(upper).toMatchObject({ kind: 'user', id: 'lead@example.com', displayName: 'Lena Lead' });
    expect(lower.id).toBe(upper.id);
  });

  describe.each(DIALECTS)('on %s', (dialect) => {
    let w: World | undefined;
    afterEach(async () => {
      await w?.dispose();
      w = undefined;
    });

    it('refuses a self-approval and a second vote when only the email case differs', async () => {
      w = await createWorld(dialect);
      const requester = await as('Lead@Example.com');
      const res = await w.gate.trigger(w.ctx(requester), { dagId: 'revenue', params: { rows: 2_000_000 } });
      if (res.outcome !== 'awaiting_approval') throw new Error('expected an approval request');
      const shown = { paramsHash: res.approval.params_hash, dagVersion: res.approval.dag_version };

      const self = await refusal(
        voteOnApproval(w.gate, w.ctx(await as('lead@example.com')), res.approval.id, 'approve', shown),
      );
      expect(self.code).toBe('APPROVAL_SELF_VOTE');
      expect(self.message).toContain('lead@example.com requested this run and cannot approve it');

      const first = await voteOnApproval(
        w.gate,
        w.ctx(await as('Lead2@Example.COM')),
        res.approval.id,
        'approve',
        shown,
      );
      expect(first).toMatchObject({ approvals: 1, quorum: 2, runState: 'awaiting_approval' });
      const twice = await refusal(
        voteOnApproval(w.gate, w.ctx(await as('lead2@example.com')), res.approval.id, 'approve', shown),
      );
      expect(twice.code).toBe('APPROVAL_DUPLICATE_VOTE');
      expect(twice.message).toContain('lead2@example.com already voted');
      expect(twice.message).toContain('one identity counts once');
    });
  });
});

describe('engine principal names', () => {
  it('refuses a client-credentials token whose client id is "scheduler", naming the claim', async () => {
    const e = await refusal(verifier.verify(await idp.serviceToken({ client: SCHEDULER })));
    expect(e.code).toBe('PRINCIPAL_RESERVED');
    expect(e.message).toContain('its "client_id" claim');
    expect(e.message).toContain('Service::"scheduler", which is reserved for the engine’s scheduler');
    expect(e.message).toContain('rename the client at the IdP');
  });

  it('refuses a client-credentials token shaped like a DAG’s own service, dag:dev/month_end', async () => {
    const e = await refusal(verifier.verify(await idp.serviceToken({ client: MONTH_END })));
    expect(e.code).toBe('PRINCIPAL_RESERVED');
    expect(e.message).toContain(
      'Service::"dag:dev/month_end", which is reserved for DAG-to-DAG triggers (dag:<env>/<dag>)',
    );
  });

  it('refuses look-alikes of engine names that differ only in case', async () => {
    const e = await refusal(verifier.verify(await idp.serviceToken({ client: LOOKALIKE })));
    expect(e.code).toBe('PRINCIPAL_RESERVED');
    expect(e.message).toContain('Service::"Scheduler"');
  });

  it('still maps an ordinary client-credentials token to its service', async () => {
    expect(await verifier.verify(await idp.serviceToken())).toMatchObject({ kind: 'service', id: 'ci-bot' });
  });

  it('refuses at config load a service rule whose fixed id is an engine name', () => {
    const parsed = (id: string) =>
      trustedIssuerSchema.safeParse({
        issuer: 'https://idp.example.com/',
        audiences: ['airclutch'],
        principals: [{ kind: 'service', id }],
      });
    for (const id of ['scheduler', 'airclutch', 'dag:{repository}', 'DAG:prod/x']) {
      const r = parsed(id);
      expect(r.success, id).toBe(false);
      expect(r.error?.issues[0]?.message).toContain('choose another name');
      expect(r.error?.issues[0]?.path).toEqual(['principals', 0, 'id']);
    }
    expect(parsed('gha:{repository}').success).toBe(true);
  });
});
