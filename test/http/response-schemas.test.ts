/**
 * Responses are serialized with each route's response schema (fast-json-stringify): what a view
 * object carries beyond its schema never reaches the caller, and the OpenAPI document describes
 * every success answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slackConfigSchema } from '../../src/http/server-config.ts';
import { DIALECTS } from '../helpers/test-db.ts';
import { type HttpWorld, startHttpWorld } from './http-world.ts';

const SECRET = 'sk-column-that-no-schema-lists';

describe.each(DIALECTS)('response schemas on %s', (dialect) => {
  let h: HttpWorld;

  beforeAll(async () => {
    h = await startHttpWorld({
      dialect,
      server: { slack: slackConfigSchema.parse({ signingSecret: 'slack-secret-for-the-openapi-test' }) },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('does not send a column added to the runs, tasks or approval requests tables, though the views spread their rows', async () => {
    // A later migration adds a secret column: the views (`{ ...row }`) now carry it.
    for (const table of ['runs', 'task_instances', 'approval_requests'] as const) {
      await h.world.db.kysely.schema
        .alterTable(table)
        .addColumn('secret_token', 'text', (c) => c.defaultTo(SECRET))
        .execute();
    }
    const [eng, lead] = [await h.token('eng@example.com'), await h.token('lead@example.com')];
    const started = await h.call('POST', '/api/v1/dags/revenue/runs', {
      token: eng,
      body: { params: { rows: 5 } },
    });
    expect(started.status).toBe(201);
    await h.world.engine.start();
    expect(await h.world.engine.waitForRun(started.json.run.id)).toBe('success');
    const asked = await h.call('POST', '/api/v1/dags/revenue/runs', {
      token: eng,
      body: { params: { rows: 2_000_000 } },
    });
    expect(asked.status).toBe(202);
    const stored = await h.world.db.kysely
      .selectFrom('runs')
      .selectAll()
      .where('id', '=', started.json.run.id)
      .executeTakeFirstOrThrow();
    expect(stored).toMatchObject({ secret_token: SECRET });

    const answers = [
      started,
      asked,
      await h.call('GET', '/api/v1/runs', { token: eng }),
      await h.call('GET', `/api/v1/runs/${started.json.run.id}`, { token: eng }),
      await h.call('GET', '/api/v1/approvals', { token: lead }),
      await h.call('POST', `/api/v1/approvals/${asked.json.approval.id}/approve`, {
        token: lead,
        body: { paramsHash: asked.json.approval.params_hash, dagVersion: asked.json.approval.dag_version },
      }),
      await h.call('POST', `/api/v1/runs/${asked.json.run.id}/cancel`, { token: eng }),
    ];
    for (const res of answers) {
      expect(res.status).toBeLessThan(300);
      expect(res.text).not.toContain(SECRET);
      expect(res.text).not.toContain('secret_token');
    }
    const [, , list, one, approvals] = answers;
    expect(list!.json.runs.length).toBeGreaterThanOrEqual(2);
    expect(Object.keys(one!.json.run).sort()).toEqual(
      [
        'break_glass',
        'created_at',
        'dag_id',
        'dag_loaded',
        'dag_version',
        'ended_at',
        'env',
        'error',
        'id',
        'logical_date',
        'note',
        'params',
        'params_hash',
        'requested_by',
        'requested_by_kind',
        'schedule_key',
        'source',
        'started_at',
        'state',
      ].sort(),
    );
    expect(one!.json.tasks.map((t: { task_id: string }) => t.task_id).sort()).toEqual(['extract', 'load']);
    expect(approvals!.json.actionable[0]).toMatchObject({ id: asked.json.approval.id, quorum: 2, votes: [] });
  });

  it('keeps nulls, booleans and masked params as the views hold them', async () => {
    const eng = await h.token('eng@example.com');
    const res = await h.call('POST', '/api/v1/dags/revenue/runs', {
      token: eng,
      body: { params: { rows: 7, apiKey: 'sk-param' }, note: 'n' },
    });
    expect(res.status).toBe(201);
    expect(res.json.run).toMatchObject({
      params: { rows: 7, dryRun: false, apiKey: '••••••' },
      note: 'n',
      logical_date: null,
      schedule_key: null,
      break_glass: false,
      ended_at: null,
      error: null,
    });
    expect(res.text).not.toContain('sk-param');
    const me = await h.call('GET', '/api/v1/whoami', { token: eng });
    expect(me.json).toMatchObject({ kind: 'user', id: 'eng@example.com', via: 'bearer' });
    expect(typeof me.json.tokenExpiresAt).toBe('number');
  });

  it('documents a response schema for the success answer of every route in the OpenAPI document', async () => {
    const spec = (await h.call('GET', '/openapi.json')).json;
    const missing: string[] = [];
    const open: string[] = [];
    let operations = 0;
    for (const [path, item] of Object.entries<Record<string, any>>(spec.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        operations++;
        const success = Object.entries<any>(op.responses ?? {}).filter(([status]) => /^2\d\d$/.test(status));
        const schemas = success.map(([status, r]) => [status, r.content?.['application/json']?.schema]);
        if (!schemas.length || schemas.some(([, s]) => !s)) missing.push(`${method.toUpperCase()} ${path}`);
        for (const [status, schema] of schemas)
          openParts(schema, `${method.toUpperCase()} ${path} ${status} `, open);
      }
    }
    expect(operations).toBeGreaterThanOrEqual(18);
    expect(spec.paths['/slack/interactivity']).toBeDefined();
    expect(missing).toEqual([]);
    // The free-form parts, and only these: params (of runs and of approval requests) and their JSON Schema, and the audit record's
    // hashed params, decision and details.
    expect(open.sort()).toEqual(
      [
        'GET /api/v1/approvals 200 actionable[].params',
        'GET /api/v1/approvals 200 mine[].params',
        'GET /api/v1/approvals/{id} 200 approval.params',
        'GET /api/v1/approvals/{id} 200 run.params',
        'GET /api/v1/audit 200 records[].decision',
        'GET /api/v1/audit 200 records[].details',
        'GET /api/v1/audit 200 records[].params',
        'GET /api/v1/dags 200 dags[].paramsSchema',
        'GET /api/v1/dags/{dagId} 200 paramsSchema',
        'GET /api/v1/dags/{dagId}/details 200 params',
        'GET /api/v1/runs 200 runs[].params',
        'GET /api/v1/runs/{runId} 200 run.params',
        'POST /api/v1/approvals/{id}/approve 200 approval.params',
        'POST /api/v1/approvals/{id}/deny 200 approval.params',
        'POST /api/v1/approvals/{id}/review 200 approval.params',
        'POST /api/v1/dags/{dagId}/break-glass 201 review.params',
        'POST /api/v1/dags/{dagId}/break-glass 201 run.params',
        'POST /api/v1/dags/{dagId}/runs 201 run.params',
        'POST /api/v1/dags/{dagId}/runs 202 approval.params',
        'POST /api/v1/dags/{dagId}/runs 202 run.params',
        'POST /api/v1/runs/{runId}/cancel 200 run.params',
      ].sort(),
    );
  });
});

/** Collects the places in a response schema where any JSON may appear. */
function openParts(schema: any, at: string, out: string[], path = ''): void {
  if (!schema || typeof schema !== 'object') return;
  const types = [schema.type].flat();
  if (schema.type === undefined && !schema.$ref && !schema.anyOf && !schema.oneOf) {
    out.push(`${at}${path}`);
    return;
  }
  if (types.includes('object')) {
    if (schema.additionalProperties === true || schema.additionalProperties === undefined) {
      out.push(`${at}${path}`);
      return;
    }
    for (const [k, v] of Object.entries(schema.properties ?? {}))
      openParts(v, at, out, path ? `${path}.${k}` : k);
  }
  if (types.includes('array')) openParts(schema.items, at, out, `${path}[]`);
  for (const s of [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) openParts(s, at, out, path);
}
