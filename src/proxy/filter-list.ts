/**
 * Lists through the proxy hold only what the caller may view, with `total_entries` and
 * `limit`/`offset` paging consistent with that: the proxy pages through Airflow's whole answer (the
 * caller's filters and ordering kept, Airflow's page size), keeps the items Cedar lets the caller
 * view, then pages locally. Filtering before paging costs a read of the whole list per call; a
 * per-page filter would show short pages and a `total_entries` that counts hidden items.
 * @module
 */
import { mayView } from '../gate/dag-visibility.ts';
import type { PolicyResource } from '../policy/policy-engine.ts';
import {
  callFacts,
  jsonBody,
  type ProxyCall,
  sendJson,
  upstreamPathOf,
  upstreamRequest,
} from './proxy-call.ts';
import type { ListKind } from './proxy-rules.ts';
import { airclutchRuns, maskConf, proxyRun } from './proxy-runs.ts';

type Item = Record<string, unknown>;

const KEYS: Record<ListKind, string> = {
  dags: 'dags',
  dagRuns: 'dag_runs',
  taskInstances: 'task_instances',
  importErrors: 'import_errors',
  dagStats: 'dags',
  dagWarnings: 'dag_warnings',
};

/** Airflow's own default page sizes (v2: 50, v1: 100) and the page it reads with. */
const DEFAULT_LIMIT = { v1: 100, v2: 50 } as const;
const PAGE = 100;

/**
 * @example
 * await filterList(call, 'dags'); // GET /dags: only the DAGs the caller may view
 */
export async function filterList(call: ProxyCall, list: ListKind): Promise<unknown> {
  const key = KEYS[list];
  const inBody = call.route.method === 'POST';
  const body = inBody ? jsonBody(call) : {};
  const query = new URLSearchParams(
    call.req.url.includes('?') ? call.req.url.slice(call.req.url.indexOf('?') + 1) : '',
  );
  const limit = num(inBody ? body.page_limit : query.get('limit'), DEFAULT_LIMIT[call.target.api]);
  const offset = num(inBody ? body.page_offset : query.get('offset'), 0);
  const kept: Item[] = [];
  let last: Record<string, unknown> = {};
  let truncated = false;
  for (let from = 0; ; ) {
    let pageReq: ReturnType<typeof upstreamRequest>;
    if (inBody) {
      const b = Buffer.from(JSON.stringify({ ...body, page_offset: from, page_limit: PAGE }));
      pageReq = upstreamRequest(call, { body: b, query: query.toString() });
    } else {
      query.set('limit', String(PAGE));
      query.set('offset', String(from));
      pageReq = upstreamRequest(call, { query: query.toString(), path: upstreamPathOf(call) });
    }
    const { status, body: answer } = await call.target.upstream.json(pageReq);
    if (status !== 200) return answerAsIs(call, status, answer);
    last = (answer ?? {}) as Record<string, unknown>;
    const items = Array.isArray(last[key]) ? (last[key] as Item[]) : [];
    kept.push(...(await visible(call, list, items)));
    from += items.length;
    const total = typeof last.total_entries === 'number' ? last.total_entries : 0;
    if (items.length === 0 || from >= total) break;
    if (from >= call.shared.config.maxListItems) {
      truncated = true;
      break;
    }
  }
  await call.shared.audit.read({
    ...callFacts(call),
    resource: {
      env: call.target.env,
      ...(call.params.dag_id && call.params.dag_id !== '~' ? { dagId: call.params.dag_id } : {}),
    },
    outcome: 'allowed',
    airflowStatus: 200,
    details: { listed: kept.length, ...(truncated ? { truncated: true } : {}) },
  });
  if (truncated) call.reply.header('x-airclutch-list-truncated', String(call.shared.config.maxListItems));
  return sendJson(call.reply, 200, {
    ...last,
    [key]: kept.slice(offset, offset + limit),
    total_entries: kept.length,
  });
}

async function answerAsIs(call: ProxyCall, status: number, answer: unknown) {
  await call.shared.audit.read({
    ...callFacts(call),
    resource: { env: call.target.env },
    outcome: `airflow ${status}`,
    airflowStatus: status,
  });
  return sendJson(call.reply, status, answer);
}

function num(v: unknown, fallback: number): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : Number.NaN;
  return Number.isInteger(n) && n >= 0 ? n : fallback;
}

/** The items the caller may view, conf values masked where it may not see them. */
async function visible(call: ProxyCall, list: ListKind, items: Item[]): Promise<Item[]> {
  const { gate } = call.shared;
  const env = call.target.env;
  const dagVisible = new Map<string, boolean>();
  const canView = (dagId: unknown) => {
    const id = String(dagId);
    let v = dagVisible.get(id);
    if (v === undefined) {
      v = mayView(gate, call.ctx, env, id);
      dagVisible.set(id, v);
    }
    return v;
  };
  switch (list) {
    case 'dags':
    case 'dagStats':
    case 'dagWarnings':
      return items.filter((i) => canView(i.dag_id));
    case 'importErrors': {
      // A file with no DAG Airclutch knows (it never imported) is Airflow's business: `readAirflow`.
      const admin =
        gate.policy.decide({
          principal: call.ctx.principal,
          action: 'readAirflow',
          resource: { kind: 'env', env },
          context: { now: new Date(gate.now()), source: call.ctx.source },
        }).effect === 'allow';
      if (admin) return items;
      const files = new Set(
        gate.dags
          .list(env)
          .filter((d) => canView(d.dag.id))
          .map((d) => (d as { remote?: { fileloc?: string } }).remote?.fileloc ?? d.file),
      );
      const seen = [...files];
      return items.filter((i) => {
        const f = String(i.filename ?? '');
        return f !== '' && seen.some((loc) => loc === f || loc.endsWith(`/${f}`));
      });
    }
    case 'dagRuns':
    case 'taskInstances': {
      const rows = await airclutchRuns(
        gate,
        items.map((i) => String(i.dag_run_id)),
      );
      const decided = new Map<string, boolean>();
      const out: Item[] = [];
      for (const i of items) {
        const run = proxyRun(env, String(i.dag_id), String(i.dag_run_id), rows.get(String(i.dag_run_id)));
        const k = `${i.dag_id}\u0000${i.dag_run_id}`;
        let ok = decided.get(k);
        if (ok === undefined) {
          ok = viewRun(call, run.resource, run.params);
          decided.set(k, ok);
        }
        if (!ok) continue;
        out.push(
          list === 'dagRuns' && 'conf' in i ? { ...i, conf: maskConf(gate, call.ctx, run, i.conf) } : i,
        );
      }
      return out;
    }
    default: {
      const never: never = list;
      throw new TypeError(`unknown list ${String(never)}`);
    }
  }
}

function viewRun(call: ProxyCall, resource: PolicyResource, params: Record<string, unknown>): boolean {
  const { gate } = call.shared;
  return (
    gate.policy.decide({
      principal: call.ctx.principal,
      action: 'view',
      resource,
      context: { params, now: new Date(gate.now()), source: call.ctx.source },
    }).effect === 'allow'
  );
}
