import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestServiceToken } from '../../src/identity/dev-token-client.ts';
import { DIALECTS } from '../helpers/test-db.ts';
import { type HttpWorld, startHttpWorld } from './http-world.ts';

function expectProblem(
  res: { status: number; headers: Headers; json: any; text: string },
  status: number,
  code: string,
) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.json).toMatchObject({ status, code, requestId: res.headers.get('x-request-id') });
  expect(typeof res.json.detail).toBe('string');
  expect(res.text).not.toMatch(/\bat .*\.ts:\d+/);
}

describe.each(DIALECTS)('the HTTP API on %s', (dialect) => {
  let h: HttpWorld;
  let eng: string;
  let lead: string;
  let lead2: string;
  let admin: string;

  beforeAll(async () => {
    h = await startHttpWorld({ dialect });
    [eng, lead, lead2, admin] = await Promise.all([
      h.token('eng@example.com'),
      h.token('lead@example.com'),
      h.token('lead2@example.com'),
      h.token('admin@example.com'),
    ]);
  });
  afterAll(async () => {
    await h?.close();
  });

  describe('identity on the API', () => {
    it('answers whoami with the verified principal, its groups, issuer and token expiry', async () => {
      const res = await h.call('GET', '/api/v1/whoami', { token: eng });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({
        kind: 'user',
        id: 'eng@example.com',
        groups: ['data-eng'],
        issuer: h.idp.issuer,
        via: 'bearer',
      });
      expect(res.json.tokenExpiresAt).toBeGreaterThan(Date.now());
    });

    it('refuses a request without a token with 401 TOKEN_MISSING as problem+json', async () => {
      const res = await h.call('GET', '/api/v1/whoami');
      expectProblem(res, 401, 'TOKEN_MISSING');
      expect(res.json.detail).toContain('Bearer');
    });

    it('refuses a forged token with 401 and never echoes it', async () => {
      const forged = `${eng.slice(0, -6)}AAAAAA`;
      const res = await h.call('GET', '/api/v1/dags', { token: forged });
      expectProblem(res, 401, 'SIGNATURE_INVALID');
      expect(res.text).not.toContain(forged);
    });

    it('refuses a token without the trigger scope with 403 SCOPE_MISSING', async () => {
      const viewOnly = await h.token('eng@example.com', 'airclutch:view');
      const res = await h.call('POST', '/api/v1/dags/revenue/runs', { token: viewOnly, body: {} });
      expectProblem(res, 403, 'SCOPE_MISSING');
    });
  });

  describe('triggering over HTTP', () => {
    it('answers 201 with the run when policy allows it now, with its Location', async () => {
      const res = await h.call('POST', '/api/v1/dags/revenue/runs', {
        token: eng,
        body: { params: { rows: 10 }, note: 'test' },
      });
      expect(res.status).toBe(201);
      expect(res.json.run).toMatchObject({
        dag_id: 'revenue',
        env: 'dev',
        state: 'queued',
        params: { rows: 10 },
      });
      expect(res.json.decision.policies[0]).toMatch(/^policies\/roles\.cedar:\d+$/);
      expect(res.headers.get('location')).toBe(`/api/v1/runs/${res.json.run.id}`);
    });

    it('answers 202 with the run and its approval request when approval is needed', async () => {
      const res = await h.call('POST', '/api/v1/dags/revenue/runs', {
        token: eng,
        body: { params: { rows: 2_000_000 } },
      });
      expect(res.status).toBe(202);
      expect(res.json.run.state).toBe('awaiting_approval');
      expect(res.json.approval).toMatchObject({ run_id: res.json.run.id, quorum: 2, state: 'pending' });
    });

    it('answers 403 POLICY_DENIED naming the policy when a forbid applies', async () => {
      const before = await h.runCount();
      const res = await h.call('POST', '/api/v1/dags/revenue/runs', {
        token: lead,
        body: { params: { rows: 2_000_000 } },
      });
      expectProblem(res, 403, 'POLICY_DENIED');
      expect(res.json.detail).toContain('over a million rows needs approval');
      expect(res.json.details.policies[0]).toMatch(/^dags\/revenue\.cedar:\d+$/);
      expect(await h.runCount()).toBe(before);
    });

    it('answers 403 for a caller no policy permits (deny by default)', async () => {
      const res = await h.call('POST', '/api/v1/dags/revenue/runs', { token: admin, body: {} });
      expectProblem(res, 403, 'POLICY_DENIED');
      expect(res.json.detail).toContain('deny by default');
    });

    it('answers 400 PARAMS_INVALID naming every bad field, and creates no run', async () => {
      const before = await h.runCount();
      const res = await h.call('POST', '/api/v1/dags/revenue/runs', {
        token: eng,
        body: { params: { rows: 'lots', rowz: 1 } },
      });
      expectProblem(res, 400, 'PARAMS_INVALID');
      expect(res.json.details.issues.map((i: { path: string }) => i.path)).toEqual(['rows', 'rowz']);
      expect(await h.runCount()).toBe(before);
    });

    it('answers 400 REQUEST_INVALID naming the field when the body has the wrong shape', async () => {
      const res = await h.call('POST', '/api/v1/dags/revenue/runs', {
        token: eng,
        body: { params: 5, extra: 1 },
      });
      expectProblem(res, 400, 'REQUEST_INVALID');
      expect(res.json.detail).toContain('body.params must be object');
      expect(res.json.detail).toContain('body.extra is not a known field');
    });

    it('refuses params with a __proto__ key, saying that such a key is refused, and starts nothing', async () => {
      const before = await h.runCount();
      const res = await h.call('POST', '/api/v1/dags/revenue/runs', {
        token: eng,
        body: '{"params":{"rows":1,"__proto__":{"admin":true}}}',
      });
      expectProblem(res, 400, 'REQUEST_INVALID');
      expect(res.json.detail).toContain('__proto__ or constructor.prototype key');
      expect(await h.runCount()).toBe(before);
    });

    it('refuses a body that is not JSON, saying to send application/json, and starts nothing', async () => {
      const before = await h.runCount();
      for (const type of ['text/plain', 'application/xml']) {
        const res = await h.call('POST', '/api/v1/dags/revenue/runs', {
          token: eng,
          body: '{"params":{"rows":1}}',
          headers: { 'content-type': type },
        });
        expectProblem(res, 400, 'REQUEST_INVALID');
        expect(res.json.detail).toBe('unsupported Content-Type: send application/json');
      }
      expect(await h.runCount()).toBe(before);
    });

    it('refuses query parameters a route does not take, so ?env=prod never starts a run in the default environment', async () => {
      const before = await h.runCount();
      const res = await h.call('POST', '/api/v1/dags/revenue/runs?env=prod', { token: eng, body: {} });
      expectProblem(res, 400, 'REQUEST_INVALID');
      expect(res.json.detail).toContain('querystring.env is not a known field');
      expect(await h.runCount()).toBe(before);
      const run = await h.call('GET', '/api/v1/runs/anything?verbose=1', { token: eng });
      expectProblem(run, 400, 'REQUEST_INVALID');
      expect(run.json.detail).toContain('querystring.verbose is not a known field');
    });

    it('answers 404 DAG_NOT_FOUND for an unknown DAG', async () => {
      const res = await h.call('POST', '/api/v1/dags/revenu/runs', { token: eng, body: {} });
      expectProblem(res, 404, 'DAG_NOT_FOUND');
    });

    it('records the request id in the audit trail', async () => {
      const res = await h.call('POST', '/api/v1/dags/revenue/runs', {
        token: eng,
        body: { params: { rows: 3 } },
        headers: { 'x-request-id': 'req-from-ci-42' },
      });
      expect(res.status).toBe(201);
      expect(res.headers.get('x-request-id')).toBe('req-from-ci-42');
      const record = await h.world.db.kysely
        .selectFrom('audit_records')
        .selectAll()
        .where('request_id', '=', 'req-from-ci-42')
        .executeTakeFirstOrThrow();
      expect(record).toMatchObject({
        action: 'trigger',
        run_id: res.json.run.id,
        actor_id: 'eng@example.com',
      });
    });

    it('generates a request id when the one sent is unusable', async () => {
      const res = await h.call('GET', '/api/v1/whoami', {
        token: eng,
        headers: { 'x-request-id': 'bad id\twith space' },
      });
      expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    });
  });

  describe('DAGs and runs', () => {
    it('lists the DAGs the caller may view with what it may do now', async () => {
      const res = await h.call('GET', '/api/v1/dags', { token: eng });
      expect(res.status).toBe(200);
      const revenue = res.json.dags.find((d: { dagId: string }) => d.dagId === 'revenue');
      expect(revenue).toMatchObject({ env: 'dev', trigger: 'allow' });
      expect(revenue.paramsSchema.properties.apiKey.sensitive).toBe(true);
      const asAdmin = await h.call('GET', '/api/v1/dags/revenue', { token: admin });
      expect(asAdmin.json).toMatchObject({ dagId: 'revenue', trigger: 'deny' });
    });

    it('refuses to show a DAG to a caller without view', async () => {
      const outsider = await h.token('lead@example.com');
      const res = await h.call('GET', '/api/v1/dags/revenue', { token: outsider });
      // Leads may read everything in this world; a missing DAG is 404 for anyone.
      expect(res.status).toBe(200);
      expectProblem(await h.call('GET', '/api/v1/dags/nope', { token: eng }), 404, 'DAG_NOT_FOUND');
    });

    it('lists runs with filters and shows one run with its tasks', async () => {
      await h.call('POST', '/api/v1/dags/revenue/runs', { token: eng, body: { params: { rows: 7 } } });
      const list = await h.call('GET', '/api/v1/runs?dag=revenue&state=queued&limit=2', { token: eng });
      expect(list.status).toBe(200);
      expect(list.json.runs.length).toBeGreaterThan(0);
      expect(list.json.runs.every((r: { state: string }) => r.state === 'queued')).toBe(true);
      const one = await h.call('GET', `/api/v1/runs/${list.json.runs[0].id}`, { token: eng });
      expect(one.status).toBe(200);
      expect(one.json).toMatchObject({ run: { id: list.json.runs[0].id }, tasks: [] });
      expectProblem(await h.call('GET', '/api/v1/runs/nope', { token: eng }), 404, 'RUN_NOT_FOUND');
      expectProblem(
        await h.call('GET', '/api/v1/runs?state=sideways', { token: eng }),
        400,
        'REQUEST_INVALID',
      );
    });

    it('shows a sensitive param masked in every view of the run, while the run keeps its value', async () => {
      const body = { params: { rows: 8, apiKey: 'sk-live-do-not-show' } };
      const started = await h.call('POST', '/api/v1/dags/revenue/runs', { token: eng, body });
      expect(started.status).toBe(201);
      const id = started.json.run.id;
      const one = await h.call('GET', `/api/v1/runs/${id}`, { token: eng });
      const list = await h.call('GET', '/api/v1/runs?dag=revenue', { token: eng });
      for (const text of [started.text, one.text, list.text])
        expect(text).not.toContain('sk-live-do-not-show');
      expect(one.json.run.params).toEqual({ rows: 8, dryRun: false, apiKey: '••••••' });
      const row = await h.world.db.kysely
        .selectFrom('runs')
        .select('params')
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      expect(JSON.parse(row.params).apiKey).toBe('sk-live-do-not-show');
    });

    it('cancels a run for a caller Cedar allows, and refuses one it does not', async () => {
      const started = await h.call('POST', '/api/v1/dags/revenue/runs', { token: eng, body: {} });
      expectProblem(
        await h.call('POST', `/api/v1/runs/${started.json.run.id}/cancel`, { token: admin, body: {} }),
        403,
        'POLICY_DENIED',
      );
      const res = await h.call('POST', `/api/v1/runs/${started.json.run.id}/cancel`, {
        token: eng,
        body: { reason: 'wrong day' },
      });
      expect(res.status).toBe(200);
      expect(res.json.run.state).toBe('cancelled');
    });
  });

  describe('approvals over HTTP', () => {
    it('shows the request to approvers and to its requester, counts votes and queues the run at quorum', async () => {
      const asked = await h.call('POST', '/api/v1/dags/revenue/runs', {
        token: eng,
        body: { params: { rows: 3_000_000 } },
      });
      const id = asked.json.approval.id;
      const forLead = await h.call('GET', '/api/v1/approvals', { token: lead });
      expect(forLead.json.actionable.map((a: { id: string }) => a.id)).toContain(id);
      const forEng = await h.call('GET', '/api/v1/approvals', { token: eng });
      expect(forEng.json.actionable.map((a: { id: string }) => a.id)).not.toContain(id);
      expect(forEng.json.mine.map((a: { id: string }) => a.id)).toContain(id);

      expectProblem(
        await h.call('POST', `/api/v1/approvals/${id}/approve`, { token: eng, body: {} }),
        403,
        'POLICY_DENIED',
      );
      // What the lead was shown is what the vote carries back.
      const listed = forLead.json.actionable.find((a: { id: string }) => a.id === id);
      const shownToLead = { paramsHash: listed.params_hash, dagVersion: listed.dag_version };
      expect(shownToLead.paramsHash).toMatch(/^[0-9a-f]{64}$/);
      expect(listed.params).toEqual({ rows: 3_000_000, dryRun: false });
      const first = await h.call('POST', `/api/v1/approvals/${id}/approve`, {
        token: lead,
        body: { comment: 'ok', ...shownToLead },
      });
      expect(first.json).toMatchObject({ approvals: 1, quorum: 2, runState: 'awaiting_approval' });
      expectProblem(
        await h.call('POST', `/api/v1/approvals/${id}/approve`, { token: lead, body: shownToLead }),
        409,
        'APPROVAL_DUPLICATE_VOTE',
      );
      const second = await h.call('POST', `/api/v1/approvals/${id}/approve`, {
        token: lead2,
        body: shownToLead,
      });
      expect(second.json).toMatchObject({ approvals: 2, runState: 'queued' });
      expect(second.json.approval.state).toBe('approved');
    });

    it('answers 409 APPROVAL_STALE to an approval carrying a params hash the request does not hold, and counts nothing', async () => {
      const asked = await h.call('POST', '/api/v1/dags/revenue/runs', {
        token: eng,
        body: { params: { rows: 5_000_000 } },
      });
      const { id, params_hash, dag_version } = asked.json.approval;
      const staleHash = params_hash.replace(/^./, (c: string) => (c === '0' ? '1' : '0'));
      const stale = await h.call('POST', `/api/v1/approvals/${id}/approve`, {
        token: lead,
        body: { paramsHash: staleHash, dagVersion: dag_version },
      });
      expectProblem(stale, 409, 'APPROVAL_STALE');
      expect(stale.json.detail).toBe(
        `you were shown params hash ${staleHash} (the request's is ${params_hash}) of approval request ${id}: what you saw is not what would run. Look at the request again and vote on what it holds`,
      );
      const missing = await h.call('POST', `/api/v1/approvals/${id}/approve`, { token: lead, body: {} });
      expectProblem(missing, 400, 'REQUEST_INVALID');
      expect(missing.json.detail).toContain('send the params hash and DAG version you were shown');
      const view = await h.call('GET', '/api/v1/approvals', { token: eng });
      const mine = view.json.mine.find((a: { id: string }) => a.id === id);
      expect(mine).toMatchObject({ state: 'pending', votes: [] });
      const trail = await h.world.db.kysely
        .selectFrom('audit_records')
        .select(['outcome', 'details'])
        .where('approval_id', '=', id)
        .where('action', '=', 'approve')
        .orderBy('seq')
        .execute();
      expect(trail.map((r) => [r.outcome, JSON.parse(r.details!).code])).toEqual([
        ['refused', 'APPROVAL_STALE'],
        ['refused', 'REQUEST_INVALID'],
      ]);
    });

    it('shows one request at GET /approvals/{id} with whether the caller may vote and why not, and refuses and records it for whom may not see its run', async () => {
      const asked = await h.call('POST', '/api/v1/dags/revenue/runs', {
        token: eng,
        body: { params: { rows: 4_500_000 }, note: 'quarter close' },
      });
      const { id, params_hash } = asked.json.approval;
      const forLead = await h.call('GET', `/api/v1/approvals/${id}`, { token: lead });
      expect(forLead.status).toBe(200);
      expect(forLead.json).toMatchObject({
        approval: { id, params_hash, state: 'pending', votes: [] },
        run: { id: asked.json.run.id, params: { rows: 4_500_000, dryRun: false } },
        note: 'quarter close',
        canVote: { allowed: true, code: null, message: null },
      });
      // The permits that let the engineer ask (requestTrigger), from the decision that opened it.
      expect(forLead.json.policies).toEqual(['policies/roles.cedar:6', 'policies/roles.cedar:8']);
      const forEng = await h.call('GET', `/api/v1/approvals/${id}`, { token: eng });
      expect(forEng.json.canVote).toEqual({
        allowed: false,
        code: 'APPROVAL_SELF_VOTE',
        message: 'you asked for this, so you cannot vote on it: another eligible person must',
      });
      const forAdmin = await h.call('GET', `/api/v1/approvals/${id}`, { token: admin });
      expect(forAdmin.json.canVote).toMatchObject({ allowed: false, code: 'POLICY_DENIED' });
      expect(forAdmin.json.canVote.message).toContain('may not approve approval request');
      await h.call('POST', `/api/v1/approvals/${id}/approve`, {
        token: lead,
        body: { paramsHash: params_hash, dagVersion: asked.json.approval.dag_version },
      });
      const again = await h.call('GET', `/api/v1/approvals/${id}`, { token: lead });
      expect(again.json.canVote.code).toBe('APPROVAL_DUPLICATE_VOTE');
      expect(again.json.approval.votes).toMatchObject([{ voter: 'lead@example.com', vote: 'approve' }]);

      const bot = await requestServiceToken(h.idp.issuer);
      const refused = await h.call('GET', `/api/v1/approvals/${id}`, { token: bot });
      expectProblem(refused, 403, 'POLICY_DENIED');
      expect(refused.json.detail).toContain('may not view');
      const trail = await h.world.db.kysely
        .selectFrom('audit_records')
        .select(['action', 'outcome', 'actor_id'])
        .where('run_id', '=', asked.json.run.id)
        .where('outcome', '=', 'denied')
        .execute();
      expect(trail).toContainEqual({ action: 'view', outcome: 'denied', actor_id: 'ci-bot' });
      expectProblem(
        await h.call('GET', '/api/v1/approvals/no-such-request', { token: lead }),
        404,
        'APPROVAL_NOT_FOUND',
      );
    });

    it('ends a request with one denial', async () => {
      const asked = await h.call('POST', '/api/v1/dags/revenue/runs', {
        token: eng,
        body: { params: { rows: 4_000_000 } },
      });
      const res = await h.call('POST', `/api/v1/approvals/${asked.json.approval.id}/deny`, {
        token: lead,
        body: { comment: 'not today' },
      });
      expect(res.json).toMatchObject({ runState: 'rejected' });
      expectProblem(
        await h.call('POST', '/api/v1/approvals/nope/approve', { token: lead }),
        404,
        'APPROVAL_NOT_FOUND',
      );
    });
  });

  describe('DAGs a caller may not view', () => {
    /** The answer with the DAG's name and the request's id taken out: what tells one 404 from another. */
    function shape(res: { status: number; headers: Headers; text: string }, dagId: string) {
      const requestId = res.headers.get('x-request-id') ?? '';
      return {
        status: res.status,
        contentType: res.headers.get('content-type'),
        body: res.text.replaceAll(requestId, '<request>').replaceAll(dagId, '<dag>'),
      };
    }

    it('answers a real token that may not view a DAG byte for byte as for a DAG that does not exist', async () => {
      // The dev IdP's ci-bot service, with a real client-credentials token: no policy lets it view a DAG.
      const bot = await requestServiceToken(h.idp.issuer);
      const missing = await h.call('POST', '/api/v1/dags/no_such_dag/runs', {
        token: bot,
        body: { params: { rows: 10 } },
      });
      expectProblem(missing, 404, 'DAG_NOT_FOUND');
      expect(missing.json.detail).toBe(
        'DAG no_such_dag not found in environment dev; you may view no DAG in this environment',
      );
      const expected = shape(missing, 'no_such_dag');
      const denied = await h.call('POST', '/api/v1/dags/revenue/runs', {
        token: bot,
        body: { params: { rows: 10 } },
      });
      expect(shape(denied, 'revenue')).toEqual(expected);
      const badParams = await h.call('POST', '/api/v1/dags/revenue/runs', {
        token: bot,
        body: { params: { rows: 'lots', rowz: 1 } },
      });
      expect(shape(badParams, 'revenue')).toEqual(expected);
      const nearMiss = await h.call('POST', '/api/v1/dags/revenu/runs', {
        token: bot,
        body: { params: { rows: 10 } },
      });
      expect(shape(nearMiss, 'revenu')).toEqual(expected);
      const shown = await h.call('GET', '/api/v1/dags/revenue', { token: bot });
      const shownMissing = await h.call('GET', '/api/v1/dags/no_such_dag', { token: bot });
      expectProblem(shown, 404, 'DAG_NOT_FOUND');
      expect(shape(shown, 'revenue')).toEqual(shape(shownMissing, 'no_such_dag'));
      const explained = await h.call('POST', '/api/v1/authorize/explain', {
        token: bot,
        body: { action: 'trigger', dagId: 'revenue', params: { rows: 'lots' } },
      });
      const explainedMissing = await h.call('POST', '/api/v1/authorize/explain', {
        token: bot,
        body: { action: 'trigger', dagId: 'no_such_dag', params: { rows: 'lots' } },
      });
      expectProblem(explained, 404, 'DAG_NOT_FOUND');
      expect(shape(explained, 'revenue')).toEqual(shape(explainedMissing, 'no_such_dag'));
      // Someone who may view it still learns what to fix.
      const forEng = await h.call('POST', '/api/v1/dags/revenu/runs', { token: eng, body: {} });
      expect(forEng.json.detail).toContain('did you mean revenue?');
      const leadShown = await h.call('GET', '/api/v1/dags/revenue', { token: lead });
      expect(leadShown.status).toBe(200);
    });
  });

  describe('explain and audit', () => {
    it('explains a what-if decision with the determining policy and reason', async () => {
      const res = await h.call('POST', '/api/v1/authorize/explain', {
        token: eng,
        body: { action: 'trigger', dagId: 'revenue', params: { rows: 2_000_000 } },
      });
      expect(res.status).toBe(200);
      expect(res.json.effect).toBe('deny');
      expect(res.json.reasons).toContain('over a million rows needs approval');
    });

    it('names who may approve a trigger that needs approval: the group the approve permit names, and the quorum', async () => {
      const res = await h.call('POST', '/api/v1/authorize/explain', {
        token: eng,
        body: { action: 'trigger', dagId: 'revenue', params: { rows: 2_000_000 } },
      });
      expect(res.json).toMatchObject({
        outcome: 'approval',
        quorum: 2,
        approvers: [{ kind: 'group', id: 'data-leads' }],
      });
      const small = await h.call('POST', '/api/v1/authorize/explain', {
        token: eng,
        body: { action: 'trigger', dagId: 'revenue', params: { rows: 5 } },
      });
      expect(small.json.outcome).toBe('allow');
      expect(small.json.approvers).toBeUndefined();
    });

    it('lets only audit readers explain as someone else', async () => {
      const body = { action: 'trigger', dagId: 'revenue', as: { id: 'x@example.com', groups: ['data-eng'] } };
      expectProblem(
        await h.call('POST', '/api/v1/authorize/explain', { token: eng, body }),
        403,
        'POLICY_DENIED',
      );
      const res = await h.call('POST', '/api/v1/authorize/explain', { token: admin, body });
      expect(res.json.effect).toBe('allow');
    });

    it('lists fleet workers, with their queues and load, to readers of the whole trail only', async () => {
      const now = Date.now();
      await h.world.db.kysely
        .insertInto('workers')
        .values([
          {
            id: 'w-live',
            host: 'h1',
            pid: 11,
            queues: '["default","gpu"]',
            concurrency: 8,
            running: 3,
            started_at: now - 5_000,
            last_seen_at: now,
            draining: 0,
          },
          {
            id: 'w-gone',
            host: 'h2',
            pid: 12,
            queues: '["default"]',
            concurrency: 4,
            running: 1,
            started_at: now - 900_000,
            last_seen_at: now - 600_000,
            draining: 0,
          },
        ])
        .execute();
      try {
        expectProblem(await h.call('GET', '/api/v1/workers', { token: eng }), 403, 'POLICY_DENIED');
        const res = await h.call('GET', '/api/v1/workers', { token: admin });
        expect(res.status).toBe(200);
        expect(res.json.workers).toEqual([
          {
            id: 'w-live',
            host: 'h1',
            pid: 11,
            queues: ['default', 'gpu'],
            concurrency: 8,
            running: 3,
            startedAt: now - 5_000,
            lastSeenAt: now,
            draining: false,
            live: true,
          },
        ]);
      } finally {
        await h.world.db.kysely.deleteFrom('workers').execute();
      }
    });

    it('serves the audit trail to readers only, verifies it and exports it', async () => {
      const none = (await h.call('GET', '/api/v1/audit', { token: eng })).json;
      expect(none).toMatchObject({ records: [], nextAfter: null });
      expect(none.notice).toMatch(
        /^User::"eng@example.com" may not readAudit any environment or DAG: .*what would allow it: /,
      );
      // One run's records (the UI asks on every run page) come without it.
      const forRun = (await h.call('GET', '/api/v1/audit?run=r-1', { token: eng })).json;
      expect(forRun).toEqual({ records: [], nextAfter: null });
      expectProblem(await h.call('GET', '/api/v1/audit?env=dev', { token: eng }), 403, 'POLICY_DENIED');
      expectProblem(await h.call('GET', '/api/v1/audit/verify', { token: eng }), 403, 'POLICY_DENIED');
      const page = await h.call('GET', '/api/v1/audit?action=trigger&limit=5', { token: admin });
      expect(page.status).toBe(200);
      expect(page.json.records.length).toBeGreaterThan(0);
      expect(page.json.records.every((r: { action: string }) => r.action === 'trigger')).toBe(true);
      expect(page.json.notice).toBeUndefined();
      const verify = await h.call('GET', '/api/v1/audit/verify', { token: admin });
      expect(verify.json).toMatchObject({ ok: true });
      const csv = await h.call('GET', '/api/v1/audit/export?format=csv', { token: admin });
      expect(csv.headers.get('content-type')).toContain('text/csv');
      expect(csv.text.split('\n')[0]).toMatch(/^seq,ts,time,action/);
      const jsonl = await h.call('GET', `/api/v1/audit/export?since=${new Date(0).toISOString()}`, {
        token: admin,
      });
      expect(JSON.parse(jsonl.text.split('\n')[0]!).seq).toBe(1);
      expectProblem(
        await h.call('GET', '/api/v1/audit?since=yesterday', { token: admin }),
        400,
        'REQUEST_INVALID',
      );
    });
  });

  describe('outside /api/v1', () => {
    it('answers health, readiness, metrics, OpenAPI and docs', async () => {
      expect((await h.call('GET', '/healthz')).json).toEqual({ status: 'ok' });
      const active = h.world.policies.current()!;
      expect((await h.call('GET', '/readyz')).json).toEqual({
        status: 'ready',
        policies: active.policies.size,
        policyGeneration: active.generation,
        dags: h.world.registry.list().length,
      });
      // The count of policies, not the reload counter it once was.
      expect(active.policies.size).toBeGreaterThan(active.generation);
      const metrics = await h.call('GET', '/metrics');
      expect(metrics.text).toContain('airclutch_http_requests_total');
      expect(metrics.text).toMatch(
        /airclutch_gate_decisions_total\{action="trigger",outcome="started"\} \d+/,
      );
      const spec = await h.call('GET', '/openapi.json');
      expect(spec.json.openapi).toBe('3.1.0');
      expect(Object.keys(spec.json.paths)).toEqual(
        expect.arrayContaining([
          '/api/v1/dags/{dagId}/runs',
          '/api/v1/runs/{runId}/logs',
          '/api/v1/audit/export',
        ]),
      );
      const docs = await h.call('GET', '/docs');
      expect(docs.headers.get('content-type')).toContain('text/html');
      expect(docs.text).toContain('/api/v1/dags/{dagId}/runs');
    });

    it('sends security headers and no CORS headers by default', async () => {
      const res = await h.call('GET', '/api/v1/whoami', {
        token: eng,
        headers: { origin: 'https://evil.example' },
      });
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(res.headers.get('strict-transport-security')).toBeTruthy();
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('answers unknown routes, oversized bodies and bad JSON as problems', async () => {
      expectProblem(await h.call('GET', '/api/v1/nothing'), 404, 'NOT_FOUND');
      const big = { params: { rows: 1, pad: 'x'.repeat(300_000) } };
      expectProblem(
        await h.call('POST', '/api/v1/dags/revenue/runs', { token: eng, body: big }),
        413,
        'PAYLOAD_TOO_LARGE',
      );
      expectProblem(
        await h.call('POST', '/api/v1/dags/revenue/runs', { token: eng, body: '{"params": ' }),
        400,
        'REQUEST_INVALID',
      );
    });
  });
});
