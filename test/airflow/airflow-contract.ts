/**
 * The published Airflow REST contract (src/airflow/openapi) as a validator: matches a request to its
 * operation and checks the request and the response against the document with openapi-backend (Ajv).
 * The fake Airflow records every violation, and each test asserts there were none.
 * @module
 */
import { readFileSync } from 'node:fs';
import addFormats from 'ajv-formats';
import { type Document, OpenAPIBackend, type Operation } from 'openapi-backend';
import { parse } from 'yaml';

export type AirflowApi = 'v1' | 'v2';

const FILES: Record<AirflowApi, { file: string; root: string }> = {
  v2: { file: 'airflow-3.2-v2.yaml', root: '/' },
  v1: { file: 'airflow-2.10-v1.yaml', root: '/api/v1' },
};

const cache = new Map<AirflowApi, Promise<AirflowContract>>();

export interface RequestShape {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string | string[]>;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: unknown;
}

/**
 * Answers for inputs already checked: the same request or answer, validated again, gets the same
 * verdict, so repeated calls (benchmarks) pay for matching and validation once. Bounded.
 */
class Memo<V> {
  readonly #m = new Map<string, V>();
  get(key: string, compute: () => V): V {
    if (this.#m.has(key)) return this.#m.get(key) as V;
    const v = compute();
    if (this.#m.size >= 5_000) this.#m.clear();
    this.#m.set(key, v);
    return v;
  }
}

/** Headers that vary per request and that no Airflow operation declares: left out of memo keys. */
const UNDECLARED = new Set([
  'x-request-id',
  'authorization',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-prefix',
  'content-length',
  'host',
  'connection',
]);

interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  /** How many of its segments are templates: the most literal route that matches wins. */
  readonly templated: number;
  readonly op: Operation;
}

export class AirflowContract {
  private readonly routes: Route[];
  readonly #requests = new Memo<string[]>();
  readonly #responses = new Memo<string[]>();

  private constructor(
    private readonly api: OpenAPIBackend,
    root: string,
  ) {
    // openapi-backend rebuilds its list of operations at every match (a few ms per request on the
    // Airflow documents); the routes are compiled once here instead, with the same precedence.
    const prefix = root === '/' ? '' : root;
    this.routes = api.getOperations().map((op) => ({
      method: op.method.toLowerCase(),
      pattern: new RegExp(
        `^${`${prefix}${op.path}`
          .split('/')
          .map((seg) => (/^\{.+\}$/.test(seg) ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
          .join('/')}/?$`,
      ),
      templated: (op.path.match(/\{/g) ?? []).length,
      op,
    }));
  }

  /** Loads (once per process) the document of one API version. */
  static load(version: AirflowApi): Promise<AirflowContract> {
    let p = cache.get(version);
    if (!p) {
      p = (async () => {
        const { file, root } = FILES[version];
        const url = new URL(`../../src/airflow/openapi/${file}`, import.meta.url);
        const definition = nullableWithoutType(parse(readFileSync(url, 'utf8'))) as Document;
        // quick: the documents carry FastAPI/connexion quirks ($ref with siblings) that the strict
        // meta-schema check rejects; the schemas themselves compile and validate as Airflow means them.
        const api = new OpenAPIBackend({
          definition,
          apiRoot: root,
          quick: true,
          ajvOpts: { strict: false },
          customizeAjv: (ajv) => {
            addFormats.default(ajv);
            // The 2.10 document spells one format `datetime`; Airflow means date-time by it.
            ajv.addFormat('datetime', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
            return ajv;
          },
        });
        await api.init();
        return new AirflowContract(api, root);
      })();
      cache.set(version, p);
    }
    return p;
  }

  /** The operation a request names, or undefined when the document has no such route. */
  match(method: string, path: string): Operation | undefined {
    let best: Route | undefined;
    for (const r of this.routes) {
      if (
        r.method === method.toLowerCase() &&
        r.pattern.test(path) &&
        (!best || r.templated < best.templated)
      )
        best = r;
    }
    return best?.op;
  }

  /** Violations of the request against its operation (empty when valid). */
  checkRequest(req: RequestShape, op: Operation): string[] {
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !UNDECLARED.has(k)));
    const key = JSON.stringify([op.operationId, req.method, req.path, req.query, headers, req.body]);
    return this.#requests.get(key, () => this.#checkRequest(req, op));
  }

  #checkRequest(req: RequestShape, op: Operation): string[] {
    const r = this.api.validateRequest(
      { method: req.method, path: req.path, query: req.query, headers: req.headers as never, body: req.body },
      op,
    );
    return r.valid ? [] : (r.errors ?? []).map((e) => `request ${e.instancePath || '/'} ${e.message}`);
  }

  /** Violations of a JSON response body against the operation's schema for that status. */
  checkResponse(body: unknown, op: Operation, status: number): string[] {
    return this.#responses.get(JSON.stringify([op.operationId, status, body]), () =>
      this.#checkResponse(body, op, status),
    );
  }

  #checkResponse(body: unknown, op: Operation, status: number): string[] {
    const declared = Object.keys(op.responses ?? {});
    if (!declared.includes(String(status)) && !declared.includes('default')) {
      return [`response status ${status} is not declared for ${op.operationId}`];
    }
    const r = this.api.validateResponse(body, op, status);
    return r.valid
      ? []
      : (r.errors ?? []).map((e) => `response ${status} ${e.instancePath || '/'} ${e.message}`);
  }
}

/**
 * Both documents say `nullable: true` beside a `$ref` or an `anyOf` with no `type` (connexion and
 * FastAPI write it so). Ajv's `nullable` keyword needs a `type`, so such a schema is rewritten to
 * what it means: `anyOf: [<the schema>, { type: 'null' }]`.
 */
function nullableWithoutType(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(nullableWithoutType);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = nullableWithoutType(v);
  if (out.nullable === true && out.type === undefined) {
    const { nullable: _n, ...rest } = out;
    return { anyOf: [rest, { type: 'null' }] };
  }
  return out;
}
